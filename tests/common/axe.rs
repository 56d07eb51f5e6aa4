//! axe-core (npm, pinned and installed by scripts/setup into tests/tools/axe/) run
//! inside the page the browser shows: WCAG 2.x A/AA rules, WCAG 2.2 target size and
//! axe's best practices. Violations are collected per step and printed by impact.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;

use super::browser::Browser;

/// What axe-core reported for one step.
#[derive(Debug, Clone)]
pub struct Violation {
    pub step: String,
    pub rule: String,
    pub impact: String,
    pub help: String,
    pub targets: Vec<String>,
}

fn source() -> String {
    let path = super::repo().join("tests/tools/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: run scripts/setup first", path.display()))
}

/// The report of a whole run: every step checked and what axe found there.
#[derive(Default)]
pub struct AxeReport {
    steps: usize,
    violations: Vec<Violation>,
    script: Option<String>,
}

impl AxeReport {
    /// Injects axe-core into the current page (once per page load) and checks it.
    pub async fn check(&mut self, browser: &Browser, step: &str) {
        if browser.eval("return typeof window.axe === 'object'").await != Value::Bool(true) {
            let script = self.script.get_or_insert_with(source);
            browser.eval(script).await;
        }
        let found = browser
            .eval_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
                                    resultTypes: ['violations']})
                    .then(r => done(r.violations.map(v => ({rule: v.id, impact: v.impact || 'minor', help: v.help,
                                                            targets: v.nodes.map(n => n.target.join(' '))}))))
                    .catch(e => done([{rule: 'axe-error', impact: 'critical', help: String(e), targets: []}]));",
            )
            .await;
        self.steps += 1;
        for v in found.as_array().cloned().unwrap_or_default() {
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let targets = v["targets"].as_array().map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default();
            self.violations.push(Violation { step: step.to_string(), rule: text("rule"), impact: text("impact"), help: text("help"), targets });
        }
    }

    /// Violations that keep someone from using the page.
    pub fn blocking(&self) -> Vec<&Violation> {
        self.violations.iter().filter(|v| v.impact == "serious" || v.impact == "critical").collect()
    }

    /// The report, grouped by impact then rule, for the test output.
    pub fn render(&self) -> String {
        let mut by_impact: BTreeMap<usize, BTreeMap<&str, Vec<&Violation>>> = BTreeMap::new();
        let rank = |i: &str| ["critical", "serious", "moderate", "minor"].iter().position(|x| *x == i).unwrap_or(4);
        for v in &self.violations {
            by_impact.entry(rank(&v.impact)).or_default().entry(&v.rule).or_default().push(v);
        }
        let mut out = format!("accessibility (axe-core): {} steps checked, {} violations\n", self.steps, self.violations.len());
        for impact in ["critical", "serious", "moderate", "minor"] {
            let rules = by_impact.get(&rank(impact));
            let count: usize = rules.map(|r| r.values().map(Vec::len).sum()).unwrap_or(0);
            out.push_str(&format!("  {impact}: {count}\n"));
            for (rule, list) in rules.into_iter().flatten() {
                let steps: Vec<&str> = list.iter().map(|v| v.step.as_str()).collect();
                out.push_str(&format!("    {rule} ({}): {} — at {}; e.g. {:?}\n", list.len(), list[0].help, steps.join(", "), list[0].targets));
            }
        }
        out
    }

    pub fn merge(&mut self, other: AxeReport) {
        self.steps += other.steps;
        self.violations.extend(other.violations);
    }
}
