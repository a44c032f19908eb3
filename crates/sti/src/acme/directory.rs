//! The directory resource (RFC 8555 §7.1.1).

use serde::Deserialize;

/// The CA's directory: the URLs of its resources.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    /// `newNonce`.
    pub new_nonce: String,
    /// `newAccount`.
    pub new_account: String,
    /// `newOrder`.
    pub new_order: String,
    /// `revokeCert`.
    pub revoke_cert: Option<String>,
    /// `keyChange`.
    pub key_change: Option<String>,
    /// `meta`.
    #[serde(default)]
    pub meta: DirectoryMeta,
}

/// The directory's `meta` object.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    /// `termsOfService`.
    pub terms_of_service: Option<String>,
    /// `website`.
    pub website: Option<String>,
    /// `externalAccountRequired`: the CA wants external account binding (Martini does).
    #[serde(default)]
    pub external_account_required: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_acme2certifier_directory_with_junk_key() {
        let body = r#"{"newNonce":"http://h/acme/newnonce","newAccount":"http://h/acme/newaccount",
            "newOrder":"http://h/acme/neworders","revokeCert":"http://h/acme/revokecert",
            "keyChange":"http://h/acme/key-change","newAuthz":"http://h/acme/new-authz",
            "meta":{"home":"x","name":"acme2certifier","version":"0.46.3"},
            "0123456789abcdef0123456789abcdef":"http://h/x"}"#;
        let dir: Directory = serde_json::from_str(body).unwrap();
        assert_eq!(dir.new_order, "http://h/acme/neworders");
        assert!(!dir.meta.external_account_required);
        assert_eq!(dir.meta.terms_of_service, None);
    }
}
