//! Webhook delivery counters. Labels are outcomes and reasons from a fixed set,
//! never webhook or session ids.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct WebhookCounters {
    delivered: AtomicU64,
    /// Failed attempts by reason: `http_status` (a non-2xx answer), `transport`
    /// (no answer: refused, timed out, TLS), `body_gone` (result purged first).
    failed: Mutex<BTreeMap<&'static str, u64>>,
    given_up: AtomicU64,
}

impl WebhookCounters {
    pub fn delivered(&self) {
        self.delivered.fetch_add(1, Ordering::Relaxed);
    }

    pub fn failed(&self, reason: &'static str) {
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()).entry(reason).or_default() += 1;
    }

    pub fn given_up(&self) {
        self.given_up.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP idverifd_webhook_deliveries_total Webhooks delivered (answered 2xx).\n# TYPE idverifd_webhook_deliveries_total counter\n\
             idverifd_webhook_deliveries_total {}",
            self.delivered.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP idverifd_webhook_failures_total Webhook attempts that failed, by reason.\n# TYPE idverifd_webhook_failures_total counter"
        );
        let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        for reason in ["http_status", "transport", "body_gone"] {
            let _ = writeln!(out, "idverifd_webhook_failures_total{{reason=\"{reason}\"}} {}", failed.get(reason).copied().unwrap_or(0));
        }
        let _ = writeln!(
            out,
            "# HELP idverifd_webhooks_given_up_total Webhooks given up after three days of failures.\n# TYPE idverifd_webhooks_given_up_total counter\n\
             idverifd_webhooks_given_up_total {}",
            self.given_up.load(Ordering::Relaxed)
        );
    }
}
