//! Network clients of the STIR/SHAKEN ecosystem: the STI-PA API, ACME for STI certificates,
//! and the x5u certificate fetcher.
