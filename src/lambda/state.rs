//! The function's state, built once at init from validated configuration: the receiver,
//! the keys, the effects (the AWS SDK, or the in-memory twins a test hands in), and the
//! use cases' dependencies.

use crate::app::cached_secret::CachedSecret;
use crate::app::deprovision::Deprovisioner;
use crate::app::keys::{KeyRing, Keys};
use crate::app::report::Reports;
use crate::app::settle::{Effects, Timers};
use crate::app::sweep::{MergeSecrets, Reconciliation};
use crate::aws::deprovisioning::SdkDeprovisionStore;
use crate::aws::ledger::{Ledger, SdkLedger};
use crate::aws::reports::{ReportStore, SdkReports};
use crate::aws::scheduler::{Schedules, SdkSchedules};
use crate::aws::secrets::SecretSource;
use crate::domain::reconcile::parse_merge_secret;
use crate::domain::webhook::Receiver;
use crate::lambda::config::{Config, KeySource, SIGNATURE_SECRET_VAR};
use crate::lambda::config::{MERGE_API_BASE_URL_VAR, MERGE_API_SECRET_VAR};
use crate::merge::client::MergeClient;
use crate::scim::client::HttpScim;
use chrono::{DateTime, TimeDelta, Utc};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The function's state, built once at init: the receiver, the telemetry settings,
/// the effects (ledger and timers), and whether the process has served an invocation yet.
pub struct App {
    pub(crate) receiver: Receiver,
    pub(crate) keys: Keys,
    pub(crate) service: String,
    pub(crate) metrics_namespace: String,
    pub(crate) first_invocation: AtomicBool,
    pub(crate) effects: Option<Effects>,
    pub(crate) deprovisioner: Option<Deprovisioner>,
    pub(crate) reconciliation: Option<Reconciliation>,
    pub(crate) reports: Option<Reports>,
    pub(crate) access_removal_sla: TimeDelta,
}

impl App {
    /// Builds the function's state from validated configuration whose keys come from
    /// the environment, with the AWS SDK behind the ledger and timers when they are
    /// configured. No AWS client is built until one is needed.
    ///
    /// # Panics
    /// If the keys come from a secret, which must be read first: see [`App::load`].
    pub fn new(config: &Config) -> Self {
        Self::with_effects(config, sdk_effects(config))
    }

    /// As [`App::new`], with `effects` instead of the SDK (the in-memory twins, in tests
    /// and the replay example).
    ///
    /// # Panics
    /// If the keys come from a secret: see [`App::load`].
    pub fn with_effects(config: &Config, effects: Option<Effects>) -> Self {
        let verifier = config
            .environment_verifier()
            .expect("keys from a secret are read by App::load");
        Self::build(config, Keys::Fixed(Arc::new(verifier.clone())), effects)
    }

    /// Builds the function's state, reading the keys from their secret through `source`
    /// when they come from one. Fails with a message naming the variable and the AWS
    /// error code, never the value.
    pub async fn load(
        config: &Config,
        source: Arc<dyn SecretSource>,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        let keys = match &config.keys {
            KeySource::Environment(verifier) => Keys::Fixed(Arc::new((**verifier).clone())),
            KeySource::Secret { id, refresh_after } => Keys::Secret(
                KeyRing::load(source.clone(), id, *refresh_after, now)
                    .await
                    .map_err(|error| format!("{SIGNATURE_SECRET_VAR}: {error}"))?,
            ),
        };
        let mut app = Self::build(config, keys, sdk_effects(config));
        if let Some(reconcile) = &config.reconciliation {
            let mut parts = Vec::with_capacity(reconcile.secret_ids.len());
            for id in &reconcile.secret_ids {
                let part = CachedSecret::load(
                    source.clone(),
                    id,
                    reconcile.refresh_after,
                    now,
                    parse_merge_secret,
                )
                .await
                .map_err(|error| format!("{MERGE_API_SECRET_VAR}: {error}"))?;
                parts.push(part);
            }
            let secret = MergeSecrets::new(parts);
            let client = crate::net::client()
                .map_err(|error| format!("{MERGE_API_BASE_URL_VAR}: {error}"))?;
            app.reconciliation = Some(Reconciliation {
                secret,
                pages: Arc::new(MergeClient::new(client, &reconcile.base_url)),
                policy: config.policy,
                page_limit: usize::MAX,
            });
        }
        if let (Some(settings), Some(table)) = (&config.deprovisioning, &config.ledger_table) {
            let deprovisioner = Deprovisioner::load(
                settings,
                source,
                Arc::new(HttpScim::new()),
                Arc::new(SdkDeprovisionStore::new(table)),
                now,
            )
            .await?;
            app = app.with_deprovisioner(deprovisioner);
        }
        Ok(app)
    }

    /// This state, deprovisioning through `deprovisioner` (the in-memory twins, in tests
    /// and the replay example).
    pub fn with_deprovisioner(mut self, deprovisioner: Deprovisioner) -> Self {
        let mut deprovisioner = deprovisioner;
        deprovisioner.namespace = self.metrics_namespace.clone();
        deprovisioner.access_removal_sla = self.access_removal_sla;
        self.deprovisioner = Some(deprovisioner);
        if let Some(effects) = &mut self.effects {
            effects.note_terminations = true;
        }
        self
    }

    /// This state, writing reports to `store` (the in-memory twin, in tests and the
    /// replay example), measured against the configured SLA.
    pub fn with_reports(mut self, store: Arc<dyn ReportStore>, sla: TimeDelta) -> Self {
        self.reports = Some(Reports { store, sla });
        self
    }

    /// This state, reconciling through `reconciliation` (a fake Merge API and a fixed
    /// secret, in tests and the replay example).
    pub fn with_reconciliation(mut self, reconciliation: Reconciliation) -> Self {
        self.reconciliation = Some(reconciliation);
        self
    }

    fn build(config: &Config, keys: Keys, effects: Option<Effects>) -> Self {
        App {
            reconciliation: None,
            reports: config.report_bucket.as_ref().map(|bucket| Reports {
                store: Arc::new(SdkReports::new(bucket)),
                sla: config.access_removal_sla,
            }),
            receiver: config.receiver(),
            keys,
            service: config.service.clone(),
            metrics_namespace: config.metrics_namespace.clone(),
            first_invocation: AtomicBool::new(true),
            access_removal_sla: config.access_removal_sla,
            effects,
            deprovisioner: None,
        }
    }
}

/// The ledger and timers `config` asks for, over `ledger` and `schedules`: none without
/// a ledger table, no timers without scheduling.
pub fn effects_over(
    config: &Config,
    ledger: Arc<dyn Ledger>,
    schedules: Arc<dyn Schedules>,
) -> Option<Effects> {
    config.ledger_table.as_ref()?;
    Some(Effects {
        note_terminations: false,
        baselines: crate::app::baseline::Baselines::with_lookback(config.historical_lookback),
        ledger,
        timers: config.scheduling.as_ref().map(|s| Timers {
            schedules,
            role_arn: s.role_arn.clone(),
            dead_letter_arn: s.dead_letter_arn.clone(),
        }),
    })
}

/// The AWS SDK behind the ledger and timers, when they are configured.
fn sdk_effects(config: &Config) -> Option<Effects> {
    let table = config.ledger_table.as_ref()?;
    let group = config.scheduling.as_ref().map_or("", |s| s.group.as_str());
    effects_over(
        config,
        Arc::new(SdkLedger::new(table)),
        Arc::new(SdkSchedules::new(group)),
    )
}
