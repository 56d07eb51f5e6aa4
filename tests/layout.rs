//! The house as `src/lib.rs`'s `# Layout` draws it: no two top-level modules need each
//! other (a frame passes through them in order, no call back up the list), and no
//! source file outside the tests grows past what a reader takes in at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 700;

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level modules of the library, each with its files.
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "main" || (path.is_file() && path.extension().is_none_or(|e| e != "rs")) {
            continue;
        }
        rust_files(&path, modules.entry(name).or_default());
    }
    modules
}

/// The top-level modules a file names through `crate::` (paths and `use crate::{…}` groups).
fn named(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Only the group's first level: `{a, b::{c, d}}` names a and b.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && depth == 0 && !c.is_whitespace() => {
                        names.insert(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(ident(rest));
        }
    }
    names
}

#[test]
fn no_two_top_level_modules_need_each_other() {
    let modules = modules();
    let needs: BTreeMap<&String, BTreeSet<String>> = modules
        .iter()
        .map(|(name, files)| {
            let named = files.iter().flat_map(|f| named(&std::fs::read_to_string(f).unwrap())).collect::<BTreeSet<_>>();
            (name, named.into_iter().filter(|n| n != name && modules.contains_key(n)).collect())
        })
        .collect();
    let mutual: Vec<String> = needs
        .iter()
        .flat_map(|(a, uses)| uses.iter().filter(|b| a.as_str() < b.as_str() && needs[b].contains(a.as_str())).map(move |b| format!("{a} <-> {b}")))
        .collect();
    assert!(mutual.is_empty(), "modules that need each other: {mutual:?}\nwho needs whom: {needs:#?}");
    assert!(needs.len() >= 10, "the modules were found: {needs:?}");
}

#[test]
fn no_source_file_outside_the_tests_is_over_700_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "tests.rs") && !f.components().any(|c| c.as_os_str() == "tests"))
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", f.strip_prefix(src()).unwrap().display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:?}");
}

#[test]
fn a_group_import_names_each_module_it_lists() {
    let names = named("use crate::{config::Config, session::{a, b}, store};\nlet x = crate::vision::face();");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["config", "session", "store", "vision"]);
}
