//! The profile linter on arbitrary bytes (PEM or DER certificate or CSR): never panics, and
//! every finding's severity matches its rule id's prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pki::Severity;

fuzz_target!(|data: &[u8]| {
    if let Ok(reports) = pki::lint(data) {
        for report in &reports {
            for finding in report.findings() {
                let want = match finding.rule.as_bytes().first() {
                    Some(b'w') => Severity::Warn,
                    Some(b'n') => Severity::Notice,
                    _ => Severity::Error,
                };
                assert_eq!(finding.severity, want, "{finding}");
                assert!(report.applied().contains(&finding.rule));
            }
        }
    }
});
