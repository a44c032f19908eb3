//! The whole issuance flow in one call, built from the step functions.

use std::future::Future;
use std::sync::Arc;

use super::account::Account;
use super::authorization::AuthorizationStatus;
use super::certificate::IssuedChain;
use super::client::AcmeClient;
use super::error::AcmeError;
use super::order::{OrderRequest, OrderStatus};

impl AcmeClient {
    /// Orders, authorizes, finalizes and downloads a certificate for `request`, then checks
    /// that the leaf's TNAuthList is the one ordered.
    ///
    /// `csr_der` is the PKCS#10 request carrying the same TNAuthList (see `pki::CsrParams`).
    /// `spc_token` is called for every challenge attempt, so each attempt gets a fresh SPC
    /// token from the STI-PA; at most `token_attempts` attempts are made per challenge when
    /// the CA refuses the token with a problem document.
    ///
    /// An authorization that ends `invalid` is final (acme2certifier leaves the order
    /// `pending`, so the authorization decides); so is a refused finalize.
    ///
    /// # Errors
    ///
    /// Any [`AcmeError`]; [`AcmeError::ChallengeRejected`] when every token was refused,
    /// [`AcmeError::TnAuthListMismatch`] when the CA issued for another TNAuthList.
    pub async fn issue<F, Fut, E>(
        &self,
        account: &Account,
        request: &OrderRequest,
        csr_der: &[u8],
        spc_token: F,
    ) -> Result<IssuedChain, AcmeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<String, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let order = self.new_order(account, request).await?;
        order.check_not_invalid()?;
        if order.status == OrderStatus::Pending {
            for authz_url in &order.authorizations {
                self.authorize(account, authz_url, &spc_token).await?;
            }
        }
        let mut order = self.poll_order(account, &order.url, false).await?;
        if order.status == OrderStatus::Ready {
            order = self.finalize(account, &order, csr_der).await?;
        }
        if order.status != OrderStatus::Valid {
            order = self.poll_order(account, &order.url, true).await?;
        }
        let certificate = order.certificate.ok_or_else(|| AcmeError::Malformed {
            what: "order",
            url: order.url.clone(),
            reason: "valid order without certificate url".into(),
        })?;
        let chain = self.certificate(account, &certificate).await?;
        chain.check_tn_auth_list(&request.tn_auth_list)?;
        Ok(chain)
    }

    /// Answers one authorization's tkauth-01 challenge and waits for the verdict.
    async fn authorize<F, Fut, E>(
        &self,
        account: &Account,
        authz_url: &str,
        spc_token: &F,
    ) -> Result<(), AcmeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<String, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let (authz, _) = self.authorization(account, authz_url).await?;
        match authz.status {
            AuthorizationStatus::Valid => return Ok(()),
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Invalid
            | AuthorizationStatus::Deactivated
            | AuthorizationStatus::Expired
            | AuthorizationStatus::Revoked => {
                return Err(AcmeError::ChallengeRejected {
                    url: authz_url.to_owned(),
                    problem: authz.problem().cloned(),
                });
            }
        }
        let challenge = authz
            .tkauth_challenge()
            .ok_or_else(|| AcmeError::NoTkAuthChallenge {
                url: authz_url.to_owned(),
            })?;
        let attempts = self.config().token_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = spc_token()
                .await
                .map_err(|e| AcmeError::Token(Arc::new(e)))?;
            match self.answer_tkauth(account, &challenge.url, &token).await {
                Ok(_) => break,
                Err(AcmeError::Problem { problem, .. }) if attempt >= attempts => {
                    return Err(AcmeError::ChallengeRejected {
                        url: challenge.url.clone(),
                        problem: Some(problem),
                    });
                }
                Err(AcmeError::Problem { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        self.poll_authorization(account, authz_url).await?;
        Ok(())
    }
}
