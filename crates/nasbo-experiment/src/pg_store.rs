//! A study in PostgreSQL, for workers on many machines: tables `nasbo_studies` (one row per
//! study, its spec as `jsonb`) and `nasbo_trials` (one row per trial, the journal's fields as
//! columns), created and migrated by nasbo. Every step is one transaction that first takes an
//! advisory lock on the study's name, so two workers never step at once on one study and
//! never receive the same trial; the database keeps each committed step through any crash.
//!
//! ```sql
//! -- the trials of a study, best first
//! SELECT trial, arch, objective, reported->>'test_acc' AS test, worker
//!   FROM nasbo_trials JOIN nasbo_studies s ON s.id = study_id
//!  WHERE s.name = 'cifar-bo' AND status = 'ok' ORDER BY objective DESC;
//! ```

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use nasbo_core::journal::TrialLine;
use nasbo_core::{Lease, Status};
use postgres::{Client, NoTls, Row, Transaction};

use crate::store::{redact, step, Store, StudyState};

/// The layout version this nasbo writes; older layouts are migrated on connect.
pub const SCHEMA_VERSION: i32 = 1;

/// Serialises schema changes between workers that connect at once.
const SCHEMA_LOCK: i64 = 0x6e61_7362_6f00_0001;

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS nasbo_schema (version integer NOT NULL);
CREATE TABLE IF NOT EXISTS nasbo_studies (
    id bigserial PRIMARY KEY,
    name text UNIQUE NOT NULL,
    spec jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS nasbo_trials (
    study_id bigint NOT NULL REFERENCES nasbo_studies(id) ON DELETE CASCADE,
    trial integer NOT NULL,
    arch text NOT NULL,
    status text NOT NULL CHECK (status IN ('ok', 'failed', 'pending')),
    objective double precision,
    reported jsonb NOT NULL DEFAULT '{}',
    cost_s double precision NOT NULL,
    seed numeric(20) NOT NULL,
    eval_seed numeric(20) NOT NULL,
    started_at double precision NOT NULL,
    finished_at double precision NOT NULL,
    reason text,
    feasible boolean,
    hypervolume double precision,
    worker text,
    heartbeat_at double precision,
    attempt integer,
    PRIMARY KEY (study_id, trial)
);
";

/// A study in a PostgreSQL database.
pub struct PgStore {
    url: String,
    study: String,
    client: Client,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &redact(&self.url))
            .field("study", &self.study)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to the database at `url` and makes sure nasbo's tables are there, at this
    /// version's layout.
    pub fn connect(url: &str, study: &str) -> Result<PgStore> {
        let mut client = Client::connect(url, NoTls).map_err(|e| {
            anyhow!(
                "cannot connect to PostgreSQL at {}: {e}{}. Is the server running, and does \
                 the database exist (createdb)?",
                redact(url),
                e.as_db_error()
                    .map(|d| format!(" ({})", d.message()))
                    .unwrap_or_default()
            )
        })?;
        migrate(&mut client).context("cannot create or migrate nasbo's tables")?;
        Ok(PgStore {
            url: url.to_string(),
            study: study.to_string(),
            client,
        })
    }

    /// The study's name.
    pub fn study(&self) -> &str {
        &self.study
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    tx.batch_execute(SCHEMA_V1)?;
    let version: Option<i32> = tx
        .query_opt("SELECT max(version) FROM nasbo_schema", &[])?
        .and_then(|r| r.get(0));
    match version {
        None => {
            tx.execute(
                "INSERT INTO nasbo_schema (version) VALUES ($1)",
                &[&SCHEMA_VERSION],
            )?;
        }
        Some(v) if v > SCHEMA_VERSION => bail!(
            "the database holds nasbo's tables at layout {v}, newer than this nasbo's \
             {SCHEMA_VERSION}: use the newer nasbo"
        ),
        // Later layouts add their migrations here, from `v` up.
        Some(_) => {}
    }
    tx.commit()?;
    Ok(())
}

fn status_text(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Failed => "failed",
        Status::Pending => "pending",
    }
}

fn parse_status(s: &str) -> Result<Status> {
    Ok(match s {
        "ok" => Status::Ok,
        "failed" => Status::Failed,
        "pending" => Status::Pending,
        other => bail!("a trial with status `{other}`"),
    })
}

const COLUMNS: &str = "trial, arch, status, objective, reported, cost_s, seed::text, \
                       eval_seed::text, started_at, finished_at, reason, feasible, hypervolume, \
                       worker, heartbeat_at, attempt";

fn trial_of(row: &Row) -> Result<TrialLine> {
    let reported: serde_json::Value = row.get(4);
    let reported: BTreeMap<String, f64> =
        serde_json::from_value(reported).context("a trial's `reported` is not numbers")?;
    let seed: String = row.get(6);
    let eval_seed: String = row.get(7);
    let worker: Option<String> = row.get(13);
    let heartbeat_at: Option<f64> = row.get(14);
    let attempt: Option<i32> = row.get(15);
    let trial: i32 = row.get(0);
    Ok(TrialLine {
        trial: usize::try_from(trial).context("a negative trial number")?,
        arch: row.get(1),
        status: parse_status(row.get(2))?,
        objective: row.get(3),
        reported,
        cost_s: row.get(5),
        seed: seed.parse().context("a seed that is not a u64")?,
        eval_seed: eval_seed.parse().context("a seed that is not a u64")?,
        started_at: row.get(8),
        finished_at: row.get(9),
        reason: row.get(10),
        feasible: row.get(11),
        hypervolume: row.get(12),
        clock: None,
        recommended: None,
        lease: match (worker, heartbeat_at, attempt) {
            (Some(worker), Some(heartbeat_at), Some(attempt)) => Some(Lease {
                worker,
                heartbeat_at,
                attempt: u32::try_from(attempt).unwrap_or(0),
            }),
            _ => None,
        },
    })
}

fn write_trial(tx: &mut Transaction<'_>, study_id: i64, t: &TrialLine, insert: bool) -> Result<()> {
    let trial = i32::try_from(t.trial).context("a trial number past 2^31")?;
    let reported = serde_json::to_value(&t.reported)?;
    let (worker, heartbeat_at, attempt) = match &t.lease {
        Some(l) => (
            Some(l.worker.clone()),
            Some(l.heartbeat_at),
            Some(i32::try_from(l.attempt).unwrap_or(i32::MAX)),
        ),
        None => (None, None, None),
    };
    let seed = t.seed.to_string();
    let eval_seed = t.eval_seed.to_string();
    let sql = if insert {
        "INSERT INTO nasbo_trials (study_id, trial, arch, status, objective, reported, cost_s, \
         seed, eval_seed, started_at, finished_at, reason, feasible, hypervolume, worker, \
         heartbeat_at, attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::numeric, \
         $9::text::numeric, $10, $11, $12, $13, $14, $15, $16, $17)"
    } else {
        "UPDATE nasbo_trials SET arch = $3, status = $4, objective = $5, reported = $6, \
         cost_s = $7, seed = $8::text::numeric, eval_seed = $9::text::numeric, \
         started_at = $10, finished_at = $11, reason = $12, feasible = $13, \
         hypervolume = $14, worker = $15, heartbeat_at = $16, attempt = $17 \
         WHERE study_id = $1 AND trial = $2"
    };
    tx.execute(
        sql,
        &[
            &study_id,
            &trial,
            &t.arch,
            &status_text(t.status),
            &t.objective,
            &reported,
            &t.cost_s,
            &seed,
            &eval_seed,
            &t.started_at,
            &t.finished_at,
            &t.reason,
            &t.feasible,
            &t.hypervolume,
            &worker,
            &heartbeat_at,
            &attempt,
        ],
    )?;
    Ok(())
}

impl Store for PgStore {
    fn describe(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}study={}", redact(&self.url), self.study)
    }

    fn transact(&mut self, change: &mut dyn FnMut(&mut StudyState) -> Result<()>) -> Result<()> {
        let mut tx = self.client.transaction()?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('nasbo-study:' || $1))",
            &[&self.study],
        )?;
        let found = tx.query_opt(
            "SELECT id, spec FROM nasbo_studies WHERE name = $1",
            &[&self.study],
        )?;
        let (study_id, header): (Option<i64>, Option<serde_json::Value>) = match found {
            Some(row) => (Some(row.get(0)), Some(row.get(1))),
            None => (None, None),
        };
        let mut before = StudyState {
            header,
            trials: Vec::new(),
        };
        if let Some(id) = study_id {
            let rows = tx.query(
                &format!("SELECT {COLUMNS} FROM nasbo_trials WHERE study_id = $1 ORDER BY trial"),
                &[&id],
            )?;
            before.trials = rows.iter().map(trial_of).collect::<Result<_>>()?;
            if let Some(t) = before
                .trials
                .iter()
                .enumerate()
                .find(|(i, t)| t.trial != *i)
            {
                bail!(
                    "study {} has no trial {} (its trials must be numbered 0, 1, 2, …)",
                    self.study,
                    t.0
                );
            }
        }
        let Some(after) = step(&before, change)? else {
            return Ok(());
        };
        let header = after
            .header
            .clone()
            .unwrap_or_else(|| serde_json::json!({}));
        let id = match study_id {
            Some(id) => {
                if after.header != before.header {
                    tx.execute(
                        "UPDATE nasbo_studies SET spec = $2 WHERE id = $1",
                        &[&id, &header],
                    )?;
                }
                id
            }
            None => {
                let row = tx.query_one(
                    "INSERT INTO nasbo_studies (name, spec) VALUES ($1, $2) RETURNING id",
                    &[&self.study, &header],
                )?;
                row.get(0)
            }
        };
        for (i, t) in after.trials.iter().enumerate() {
            match before.trials.get(i) {
                Some(old) if old == t => {}
                Some(_) => write_trial(&mut tx, id, t, false)?,
                None => write_trial(&mut tx, id, t, true)?,
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn heartbeat(&mut self, trial: usize, worker: &str, at: f64) -> Result<bool> {
        let trial = i32::try_from(trial).context("a trial number past 2^31")?;
        let n = self.client.execute(
            "UPDATE nasbo_trials SET heartbeat_at = $4 FROM nasbo_studies s \
             WHERE s.name = $1 AND study_id = s.id AND trial = $2 AND worker = $3 \
             AND status = 'pending'",
            &[&self.study, &trial, &worker, &at],
        )?;
        Ok(n > 0)
    }

    fn reopen(&self) -> Result<Box<dyn Store>> {
        Ok(Box::new(PgStore::connect(&self.url, &self.study)?))
    }
}
