//! The order resource (RFC 8555 §7.4) with a TNAuthList identifier (RFC 9448 §3).

use pki::TnAuthList;
use serde::Deserialize;
use serde_json::{Value, json};

use super::account::Account;
use super::client::{AcmeClient, Reply, Signer};
use super::config::IdentifierEncoding;
use super::error::AcmeError;
use super::problem::Problem;

/// The identifier type of RFC 9448.
pub const TN_AUTH_LIST_IDENTIFIER: &str = "TNAuthList";

/// What to order.
#[derive(Clone, Debug)]
pub struct OrderRequest {
    /// The TNAuthList to certify (for an SP certificate, one SPC).
    pub tn_auth_list: TnAuthList,
    /// `notBefore` (RFC 3339), if the CA should honour one.
    pub not_before: Option<String>,
    /// `notAfter` (RFC 3339), if the CA should honour one.
    pub not_after: Option<String>,
}

/// Order states (RFC 8555 §7.1.6).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    /// Authorizations are outstanding.
    Pending,
    /// Ready to finalize.
    Ready,
    /// The CA is issuing.
    Processing,
    /// Issued; `certificate` holds the URL.
    Valid,
    /// Failed for good.
    Invalid,
}

/// An identifier (RFC 8555 §9.7.7); here of type `TNAuthList`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Identifier {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `value`.
    pub value: String,
}

/// An order as the server last described it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// The order URL (from `Location` at creation).
    pub url: String,
    /// `status`.
    pub status: OrderStatus,
    /// `identifiers`.
    pub identifiers: Vec<Identifier>,
    /// `authorizations` URLs.
    pub authorizations: Vec<String>,
    /// `finalize` URL.
    pub finalize: String,
    /// `certificate` URL, once `valid`.
    pub certificate: Option<String>,
    /// `error`, when the CA gave one.
    pub error: Option<Problem>,
}

#[derive(Deserialize)]
struct OrderBody {
    status: OrderStatus,
    #[serde(default)]
    identifiers: Vec<Identifier>,
    #[serde(default)]
    authorizations: Vec<String>,
    finalize: String,
    certificate: Option<String>,
    error: Option<Problem>,
}

impl OrderBody {
    fn into_order(self, url: String) -> Order {
        Order {
            url,
            status: self.status,
            identifiers: self.identifiers,
            authorizations: self.authorizations,
            finalize: self.finalize,
            certificate: self.certificate,
            error: self.error,
        }
    }
}

impl OrderStatus {
    /// The status as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Processing => "processing",
            Self::Valid => "valid",
            Self::Invalid => "invalid",
        }
    }
}

/// The identifier value of `list` in `encoding`.
pub fn identifier_value(list: &TnAuthList, encoding: IdentifierEncoding) -> String {
    match encoding {
        IdentifierEncoding::Base64 => list.to_base64(),
        IdentifierEncoding::Base64Url => list.to_base64url(),
    }
}

impl AcmeClient {
    /// Creates an order for `request.tn_auth_list` (RFC 8555 §7.4, RFC 9448 §3), with the
    /// identifier value encoded as configured.
    ///
    /// # Errors
    ///
    /// A problem document (e.g. `unsupportedIdentifier`), a transport failure, a missing
    /// `Location`, or a body that is not an order.
    pub async fn new_order(
        &self,
        account: &Account,
        request: &OrderRequest,
    ) -> Result<Order, AcmeError> {
        let value = identifier_value(&request.tn_auth_list, self.config().identifier_encoding);
        let mut payload =
            json!({"identifiers": [{"type": TN_AUTH_LIST_IDENTIFIER, "value": value}]});
        if let Some(not_before) = &request.not_before {
            payload["notBefore"] = Value::String(not_before.clone());
        }
        if let Some(not_after) = &request.not_after {
            payload["notAfter"] = Value::String(not_after.clone());
        }
        let url = self.directory().new_order.clone();
        let reply = self
            .post(Signer::Kid(account), &url, Some(&payload))
            .await?;
        let location = reply.location()?;
        let order = reply.order_at(&location)?;
        // RFC 8555 §7.4: the order echoes the identifiers; one for another TNAuthList (a
        // reused or confused order) must not be authorized with our token.
        if !order.identifiers.is_empty()
            && !order.identifiers.iter().any(|id| {
                id.kind.eq_ignore_ascii_case(TN_AUTH_LIST_IDENTIFIER) && id.value == value
            })
        {
            return Err(AcmeError::Malformed {
                what: "order",
                url: location,
                reason: "identifiers do not include the ordered tnauthlist".into(),
            });
        }
        Ok(order)
    }

    /// Fetches an order by POST-as-GET, with the server's `Retry-After`.
    ///
    /// # Errors
    ///
    /// A problem document, transport failure, or a body that is not an order.
    pub async fn order(
        &self,
        account: &Account,
        url: &str,
    ) -> Result<(Order, Option<std::time::Duration>), AcmeError> {
        let reply = self.post(Signer::Kid(account), url, None).await?;
        let body: OrderBody = reply.json("order")?;
        Ok((body.into_order(url.to_owned()), reply.retry_after()))
    }

    /// Polls the order until its status is not `pending` (or `processing`, when
    /// `past_processing`), within the configured total wait.
    ///
    /// # Errors
    ///
    /// [`AcmeError::OrderInvalid`] when the order turns `invalid`, [`AcmeError::PollTimeout`]
    /// when the wait runs out, or any error of [`AcmeClient::order`].
    pub async fn poll_order(
        &self,
        account: &Account,
        url: &str,
        past_processing: bool,
    ) -> Result<Order, AcmeError> {
        let order = self
            .poll(
                url,
                || self.order(account, url),
                |order: &Order| match order.status {
                    OrderStatus::Pending => Some("pending"),
                    OrderStatus::Processing if past_processing => Some("processing"),
                    OrderStatus::Ready if past_processing => Some("ready"),
                    OrderStatus::Ready
                    | OrderStatus::Processing
                    | OrderStatus::Valid
                    | OrderStatus::Invalid => None,
                },
            )
            .await?;
        order.check_not_invalid()?;
        Ok(order)
    }
}

impl Reply {
    /// The body as the order at `url` (finalize answers with the order, RFC 8555 §7.4).
    pub(crate) fn order_at(&self, url: &str) -> Result<Order, AcmeError> {
        let body: OrderBody = self.json("order")?;
        Ok(body.into_order(url.to_owned()))
    }
}

impl Order {
    /// `Err(OrderInvalid)` when the order is `invalid`.
    pub(crate) fn check_not_invalid(&self) -> Result<(), AcmeError> {
        if self.status == OrderStatus::Invalid {
            return Err(AcmeError::OrderInvalid {
                url: self.url.clone(),
                problem: self.error.clone(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_value_encodings() {
        let list = TnAuthList::from_base64("MAigBhYEMTIzNA==").unwrap();
        assert_eq!(
            identifier_value(&list, IdentifierEncoding::Base64),
            "MAigBhYEMTIzNA=="
        );
        assert_eq!(
            identifier_value(&list, IdentifierEncoding::Base64Url),
            "MAigBhYEMTIzNA"
        );
    }

    #[test]
    fn reads_an_order_with_an_error() {
        let body = br#"{"status":"invalid","identifiers":[{"type":"TNAuthList","value":"x"}],
            "authorizations":["u"],"finalize":"f",
            "error":{"type":"urn:ietf:params:acme:error:unauthorized","detail":"no"}}"#;
        let order: OrderBody = serde_json::from_slice(body).unwrap();
        let order = order.into_order("o".into());
        let err = order.check_not_invalid().unwrap_err();
        assert!(matches!(err, AcmeError::OrderInvalid { ref problem, .. }
            if problem.as_ref().map(|p| &p.kind) == Some(&super::super::ProblemType::Unauthorized)));
    }
}
