//! The Merge API secrets a sweep reads with, and what reconciliation needs beside them:
//! Merge's API and the decision policy.

use crate::app::budget::Budget;
use crate::app::cached_secret::{CachedSecret, Refresh};
use crate::domain::decision::Policy;
use crate::domain::reconcile::MergeApiSecret;
use crate::merge::pages::{Credentials, EmployeePages};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The Merge API secrets, each read at init and again as it ages, with the signature
/// key's rules: one, or several when the account tokens outgrow one secret's 64 KB.
pub struct MergeSecrets {
    parts: Vec<CachedSecret<MergeApiSecret>>,
}

impl MergeSecrets {
    /// The secrets, in the order configured: an account in two takes the first's token.
    pub fn new(parts: Vec<CachedSecret<MergeApiSecret>>) -> Self {
        MergeSecrets { parts }
    }
}

impl From<CachedSecret<MergeApiSecret>> for MergeSecrets {
    fn from(secret: CachedSecret<MergeApiSecret>) -> Self {
        MergeSecrets::new(vec![secret])
    }
}

/// What the secrets hold at one moment. No `Debug`: it holds the key and tokens.
#[derive(Clone)]
pub struct Held {
    parts: Vec<Arc<MergeApiSecret>>,
}

impl Held {
    /// The API key and token to read `linked_account_id` with, from the first secret
    /// that holds the account (each secret carries the key its tokens go with).
    pub fn credentials(&self, linked_account_id: &str) -> Option<Credentials<'_>> {
        self.parts.iter().find_map(|part| {
            part.token(linked_account_id).map(|token| Credentials {
                api_key: &part.api_key,
                account_token: token,
            })
        })
    }

    /// Every linked account, once, in order.
    pub fn accounts(&self) -> Vec<&str> {
        let all: std::collections::BTreeSet<&str> = self
            .parts
            .iter()
            .flat_map(|part| part.account_tokens.keys().map(String::as_str))
            .collect();
        all.into_iter().collect()
    }

    /// True when `other` reads `linked_account_id` with other credentials.
    pub(super) fn differs_for(&self, other: &Held, linked_account_id: &str) -> bool {
        let pair = |held: &Held| {
            held.credentials(linked_account_id)
                .map(|c| (c.api_key.to_owned(), c.account_token.to_owned()))
        };
        pair(self) != pair(other)
    }
}

/// What reconciliation needs: the secret, Merge's API and the decision policy.
pub struct Reconciliation {
    /// The API key and account tokens.
    pub secret: MergeSecrets,
    /// Merge's API.
    pub pages: Arc<dyn EmployeePages>,
    /// How HR data is read, as for webhooks.
    pub policy: Policy,
    /// The most pages one invocation reads: the budget is the real bound; this one keeps
    /// an invocation's work, and its tests, predictable.
    pub page_limit: usize,
}

impl Reconciliation {
    /// The secret as it stands: read again first when it has aged, within the budget.
    /// A failed read keeps the cached value.
    pub async fn current_secret(&self, budget: &Budget, now: DateTime<Utc>) -> Held {
        let mut parts = Vec::with_capacity(self.secret.parts.len());
        for part in &self.secret.parts {
            parts.push(match budget.run(part.current(now)).await {
                Ok((secret, _)) => secret,
                Err(_) => part.cached(),
            });
        }
        Held { parts }
    }

    /// The secret read again now, if the last read is a minute old: an account missing
    /// from it, or a token Merge refused, may have been changed since.
    pub async fn reread_secret(&self, budget: &Budget, now: DateTime<Utc>) -> Held {
        for part in &self.secret.parts {
            let _: Option<Option<Refresh>> = budget.run(part.refresh_if_allowed(now)).await.ok();
        }
        Held {
            parts: self.secret.parts.iter().map(CachedSecret::cached).collect(),
        }
    }
}
