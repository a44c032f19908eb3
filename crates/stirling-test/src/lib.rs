//! Dev-only test fixtures shared by Stirling's crates (like `rustls-test` for rustls): a SHAKEN
//! test PKI built with rcgen and STI-PA style indirect CRLs built with x509-cert.
//!
//! Never a normal dependency: test keys are generated per run and carry no secrets.
