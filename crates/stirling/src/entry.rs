//! Certificate entry fields as an operator types them, checked once into typed values.
//!
//! An entry is what the lifecycle needs to get a certificate from the STI-PA and the STI-CA:
//! Name, SPID (the OCN the certificate's TNAuthList names), STI-PA Account ID, STI-PA User ID,
//! STI-PA Password and the environment. Each check is a pure function; [`EntryForm::validate`]
//! runs them all and returns every failure at once so a form can show them together.

use std::fmt;
use std::str::FromStr;

use passport::Spc;
use serde::Serialize;

use crate::secrets::SecretString;

/// One rejected form field: which field and which rule, in words an operator understands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field's name as in the API and the form, e.g. `sti_pa_password`.
    pub field: &'static str,
    /// The rule it broke, lower case, e.g. `must be shorter than 190 characters`.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Longest entry name, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// Longest STI-PA User ID, in characters.
pub const STI_PA_USER_ID_MAX_CHARS: usize = 255;
/// Longest STI-PA password, in characters.
pub const STI_PA_PASSWORD_MAX_CHARS: usize = 189;
/// Length of an OCN (SPID, STI-PA Account ID).
pub const OCN_LEN: usize = 4;

/// The characters we accept in an STI-PA password: printable ASCII, space included.
///
/// The STI-PA's exact accepted set is unconfirmed. This is the one place that decides it:
/// control characters and anything outside printable ASCII are rejected, because we cannot be
/// sure the STI-PA accepts them and a password we store but the STI-PA refuses only fails later,
/// at renewal. Widen it here once the STI-PA's rule is known.
pub fn sti_pa_password_char_allowed(c: char) -> bool {
    matches!(c, ' '..='~')
}

/// A certificate entry's display name: 1 to 100 characters, no control characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryName(String);

impl EntryName {
    /// Checks a name as typed.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "name";
        let name = input.trim();
        if name.is_empty() {
            return Err(FieldError::new(FIELD, "must not be empty"));
        }
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(FieldError::new(
                FIELD,
                format!("must be shorter than {} characters", NAME_MAX_CHARS + 1),
            ));
        }
        if let Some(c) = name.chars().find(|c| c.is_control()) {
            return Err(FieldError::new(
                FIELD,
                format!("must not contain control character {}", describe(c)),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks an OCN (SPID or STI-PA Account ID): exactly 4 characters `[0-9A-Z]`, lower case
/// letters are upper-cased first (ATIS-1000080 profile: our SPCs are upper case).
pub fn parse_ocn(field: &'static str, input: &str) -> Result<Spc, FieldError> {
    let code = input.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if let Some(c) = code.chars().find(|c| !c.is_ascii_alphanumeric()) {
        return Err(FieldError::new(
            field,
            format!(
                "must hold only letters A-Z and digits, found {}",
                describe(c)
            ),
        ));
    }
    if code.len() != OCN_LEN {
        return Err(FieldError::new(
            field,
            format!("must be exactly {OCN_LEN} characters (an OCN)"),
        ));
    }
    // The checks above are stricter than Spc's (1-32 ASCII alphanumerics).
    Spc::new(&code).map_err(|e| FieldError::new(field, e.to_string()))
}

/// An STI-PA user id: 1 to 255 characters, no whitespace or control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StiPaUserId(String);

impl StiPaUserId {
    /// Checks a user id as typed (surrounding whitespace is removed first).
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "sti_pa_user_id";
        let id = input.trim();
        if id.is_empty() {
            return Err(FieldError::new(FIELD, "must not be empty"));
        }
        if id.chars().count() > STI_PA_USER_ID_MAX_CHARS {
            return Err(FieldError::new(
                FIELD,
                format!(
                    "must be shorter than {} characters",
                    STI_PA_USER_ID_MAX_CHARS + 1
                ),
            ));
        }
        if let Some(c) = id.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(
                FIELD,
                format!(
                    "must not contain whitespace or control character {}",
                    describe(c)
                ),
            ));
        }
        Ok(Self(id.to_owned()))
    }

    /// The user id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An STI-PA password that passed [`sti_pa_password_char_allowed`] and the length rule.
/// Taken as typed: no trimming, spaces may be part of it.
#[derive(Debug)]
pub struct StiPaPassword(SecretString);

impl StiPaPassword {
    /// Checks a password. The message names the first rejected character but never echoes
    /// the password.
    pub fn parse(input: SecretString) -> Result<Self, FieldError> {
        const FIELD: &str = "sti_pa_password";
        let password = input.secret_str();
        if password.is_empty() {
            return Err(FieldError::new(FIELD, "must not be empty"));
        }
        if password.chars().count() > STI_PA_PASSWORD_MAX_CHARS {
            return Err(FieldError::new(
                FIELD,
                format!(
                    "must be shorter than {} characters",
                    STI_PA_PASSWORD_MAX_CHARS + 1
                ),
            ));
        }
        if let Some(c) = password.chars().find(|&c| !sti_pa_password_char_allowed(c)) {
            let kind = if c.is_control() {
                "control character"
            } else {
                "character"
            };
            return Err(FieldError::new(
                FIELD,
                format!(
                    "must not contain {kind} {}: only printable ASCII (space to ~) is accepted",
                    describe(c)
                ),
            ));
        }
        Ok(Self(input))
    }

    /// The password. Never log it.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// Which STI-PA / STI-CA ecosystem an entry talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The live ecosystem.
    Production,
    /// The embedded or a local sandbox PA/CA.
    Sandbox,
    /// The STI-PA's test ecosystem.
    Staging,
}

impl Environment {
    /// The stored and typed form: `production`, `sandbox` or `staging`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Sandbox => "sandbox",
            Self::Staging => "staging",
        }
    }

    /// Checks an environment as typed.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        input.trim().parse().map_err(|_| {
            FieldError::new("environment", "must be one of production, staging, sandbox")
        })
    }
}

impl FromStr for Environment {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "production" => Ok(Self::Production),
            "sandbox" => Ok(Self::Sandbox),
            "staging" => Ok(Self::Staging),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A certificate entry as typed into a form or an API body, before any check.
#[derive(Debug, serde::Deserialize)]
pub struct EntryForm {
    /// Display name.
    pub name: String,
    /// The SPID (OCN).
    pub spid: String,
    /// The STI-PA Account ID (OCN).
    pub sti_pa_account_id: String,
    /// The STI-PA User ID.
    pub sti_pa_user_id: String,
    /// The STI-PA Password.
    pub sti_pa_password: SecretString,
    /// `production`, `staging` or `sandbox`.
    pub environment: String,
    /// Canada: the certificate comes from the STI-GA ecosystem (absent: the US STI-PA).
    #[serde(default)]
    pub sti_ga: bool,
}

/// The non-secret fields of a checked certificate entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryFields {
    /// Display name.
    pub name: EntryName,
    /// The SPID the certificate will carry.
    pub spid: Spc,
    /// The STI-PA Account ID.
    pub sti_pa_account_id: Spc,
    /// The STI-PA User ID.
    pub sti_pa_user_id: StiPaUserId,
    /// The ecosystem.
    pub environment: Environment,
    /// Canada (STI-GA) rather than the US STI-PA; the endpoints are configuration.
    pub sti_ga: bool,
}

/// A checked certificate entry, ready to store.
#[derive(Debug)]
pub struct ValidEntry {
    /// Everything but the password.
    pub fields: EntryFields,
    /// The STI-PA Password.
    pub sti_pa_password: StiPaPassword,
}

impl EntryForm {
    /// Runs every field check and returns all failures, in form order.
    pub fn validate(self) -> Result<ValidEntry, Vec<FieldError>> {
        let name = EntryName::parse(&self.name);
        let spid = parse_ocn("spid", &self.spid);
        let account = parse_ocn("sti_pa_account_id", &self.sti_pa_account_id);
        let user = StiPaUserId::parse(&self.sti_pa_user_id);
        let password = StiPaPassword::parse(self.sti_pa_password);
        let environment = Environment::parse(&self.environment);
        let sti_ga = self.sti_ga;
        match (name, spid, account, user, password, environment) {
            (
                Ok(name),
                Ok(spid),
                Ok(sti_pa_account_id),
                Ok(sti_pa_user_id),
                Ok(sti_pa_password),
                Ok(environment),
            ) => Ok(ValidEntry {
                fields: EntryFields {
                    name,
                    spid,
                    sti_pa_account_id,
                    sti_pa_user_id,
                    environment,
                    sti_ga,
                },
                sti_pa_password,
            }),
            (name, spid, account, user, password, environment) => Err([
                name.err(),
                spid.err(),
                account.err(),
                user.err(),
                password.err(),
                environment.err(),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }
}

/// Shows a character so an operator can find it: printable ones quoted, others by code point.
fn describe(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("'{c}' (U+{:04X})", u32::from(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::new(s.to_owned())
    }

    #[test]
    fn name_rules() {
        assert_eq!(
            EntryName::parse("  Main cert ").unwrap().as_str(),
            "Main cert"
        );
        assert_eq!(
            EntryName::parse(&"n".repeat(100)).unwrap().as_str().len(),
            100
        );
        assert_eq!(
            EntryName::parse(&"é".repeat(101)).unwrap_err(),
            FieldError::new("name", "must be shorter than 101 characters")
        );
        assert_eq!(
            EntryName::parse("   ").unwrap_err().message,
            "must not be empty"
        );
        assert_eq!(
            EntryName::parse("a\u{7}b").unwrap_err().message,
            "must not contain control character U+0007"
        );
    }

    #[test]
    fn ocn_rules() {
        assert_eq!(parse_ocn("spid", "709j").unwrap().as_str(), "709J");
        assert_eq!(parse_ocn("spid", " 1234 ").unwrap().as_str(), "1234");
        assert_eq!(
            parse_ocn("spid", "12345").unwrap_err(),
            FieldError::new("spid", "must be exactly 4 characters (an OCN)")
        );
        assert_eq!(
            parse_ocn("sti_pa_account_id", "12-4").unwrap_err(),
            FieldError::new(
                "sti_pa_account_id",
                "must hold only letters A-Z and digits, found '-' (U+002D)"
            )
        );
        assert_eq!(
            parse_ocn("spid", "").unwrap_err().message,
            "must not be empty"
        );
        assert!(parse_ocn("spid", "12É4").is_err());
    }

    #[test]
    fn user_id_rules() {
        assert_eq!(
            StiPaUserId::parse("ops@example.com").unwrap().as_str(),
            "ops@example.com"
        );
        assert!(StiPaUserId::parse(&"u".repeat(255)).is_ok());
        assert_eq!(
            StiPaUserId::parse(&"u".repeat(256)).unwrap_err().message,
            "must be shorter than 256 characters"
        );
        assert_eq!(
            StiPaUserId::parse("a b").unwrap_err().message,
            "must not contain whitespace or control character U+0020"
        );
        assert_eq!(StiPaUserId::parse("").unwrap_err().field, "sti_pa_user_id");
    }

    #[test]
    fn password_rules() {
        assert!(StiPaPassword::parse(secret("p@ss w0rd~!")).is_ok());
        assert!(StiPaPassword::parse(secret(&"p".repeat(189))).is_ok());
        assert_eq!(
            StiPaPassword::parse(secret(&"p".repeat(190))).unwrap_err(),
            FieldError::new("sti_pa_password", "must be shorter than 190 characters")
        );
        assert_eq!(
            StiPaPassword::parse(secret("")).unwrap_err().message,
            "must not be empty"
        );
        assert_eq!(
            StiPaPassword::parse(secret("ab\tc")).unwrap_err().message,
            "must not contain control character U+0009: only printable ASCII (space to ~) is accepted"
        );
        assert_eq!(
            StiPaPassword::parse(secret("naïve")).unwrap_err().message,
            "must not contain character 'ï' (U+00EF): only printable ASCII (space to ~) is accepted"
        );
        assert!(StiPaPassword::parse(secret("a\u{7f}")).is_err());
    }

    #[test]
    fn password_error_never_echoes_the_password() {
        let err = StiPaPassword::parse(secret("topsecret\u{1}")).unwrap_err();
        assert!(!err.message.contains("topsecret"));
    }

    #[test]
    fn allowed_password_set_is_printable_ascii() {
        let allowed: Vec<u32> = (0..=0x10FFu32)
            .filter_map(char::from_u32)
            .filter(|&c| sti_pa_password_char_allowed(c))
            .map(u32::from)
            .collect();
        assert_eq!(allowed, (0x20..=0x7E).collect::<Vec<_>>());
    }

    #[test]
    fn environment_rules() {
        for env in [
            Environment::Production,
            Environment::Sandbox,
            Environment::Staging,
        ] {
            assert_eq!(Environment::parse(env.as_str()).unwrap(), env);
        }
        assert_eq!(
            Environment::parse("prod").unwrap_err(),
            FieldError::new("environment", "must be one of production, staging, sandbox")
        );
    }

    #[test]
    fn form_reports_every_bad_field_in_order() {
        let form = EntryForm {
            name: String::new(),
            spid: "1234".into(),
            sti_pa_account_id: "x".into(),
            sti_pa_user_id: "ok".into(),
            sti_pa_password: secret(&"p".repeat(190)),
            environment: "qa".into(),
            sti_ga: false,
        };
        let fields: Vec<_> = form
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "sti_pa_account_id",
                "sti_pa_password",
                "environment"
            ]
        );
    }

    #[test]
    fn good_form_validates() {
        let entry = EntryForm {
            name: "Main".into(),
            spid: "709j".into(),
            sti_pa_account_id: "709J".into(),
            sti_pa_user_id: "ops".into(),
            sti_pa_password: secret("s3cret!"),
            environment: "staging".into(),
            sti_ga: false,
        }
        .validate()
        .unwrap();
        assert_eq!(entry.fields.spid.as_str(), "709J");
        assert_eq!(entry.fields.environment, Environment::Staging);
        assert_eq!(entry.sti_pa_password.secret().secret_str(), "s3cret!");
    }

    proptest::proptest! {
        #[test]
        fn password_accepted_iff_printable_ascii_and_short(input in "\\PC{0,200}|[ -~]{0,200}") {
            let chars = input.chars().count();
            let expected = (1..=STI_PA_PASSWORD_MAX_CHARS).contains(&chars)
                && input.chars().all(|c| (' '..='~').contains(&c));
            proptest::prop_assert_eq!(StiPaPassword::parse(secret(&input)).is_ok(), expected);
        }

        #[test]
        fn accepted_ocn_is_four_upper_alphanumerics(input in "[0-9a-zA-Z-]{0,6}") {
            if let Ok(spc) = parse_ocn("spid", &input) {
                proptest::prop_assert_eq!(spc.as_str().len(), OCN_LEN);
                proptest::prop_assert!(spc.as_str().bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
                proptest::prop_assert_eq!(spc.as_str(), input.to_ascii_uppercase());
            }
        }
    }
}
