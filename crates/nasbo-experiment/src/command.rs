//! The command evaluator: any trainer, run as a shell command for every trial.
//!
//! The study's `command` is a command line with placeholders — `{arch}` (the architecture's
//! text form, as journaled), `{trial}` (the trial's number), `{seed}` (the trial's evaluation
//! seed) and `{trial_dir}` (the trial's folder) — each replaced by its value quoted for the
//! shell, so a user never quotes them; the result runs under `sh -c`, with the same values in
//! `NASBO_ARCH`, `NASBO_TRIAL`, `NASBO_SEED` and `NASBO_TRIAL_DIR`. `${NAME}` is left to the
//! shell. The trial's folder is `<journal without .jsonl>.trials/<trial>/`; the command's
//! stdout and stderr are written to `stdout.log` and `stderr.log` there as it runs.
//!
//! The command prints one JSON object as its last non-empty stdout line:
//! `{"objective": 91.3, "reported": {"test_acc": 93.9}, "cost_s": 12.0}`, or with several
//! objectives `{"metrics": {"valid_acc": 91.3, "latency_ms": 3.1}}` (named like the study's
//! objectives; every metric but the searched-on one is reported). A non-zero exit, a missing
//! or malformed result line, a non-finite value or a run past `trial-timeout-s` (its whole
//! process group is killed) is a failed trial whose reason holds the exit status and the last
//! lines of stderr.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use nasbo_core::{Evaluation, Evaluator};

use crate::objectives;
use crate::scoring::Scoring;
use crate::spec::{usage, StudySpec};

/// The placeholders a command may hold, in the order help texts list them.
pub const PLACEHOLDERS: [&str; 4] = ["arch", "trial", "seed", "trial_dir"];

/// The name of the value searched on: the result's `objective` (or `metrics.valid_acc`).
pub const OBJECTIVE_NAME: &str = "valid_acc";

/// How many lines of stderr a failed trial's reason quotes.
pub const STDERR_TAIL_LINES: usize = 20;

/// One piece of a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// An index into [`PLACEHOLDERS`].
    Value(usize),
}

/// A command line whose placeholders are checked: every `{name}` (a name of letters, digits and
/// `_`, not preceded by `$`) is one of [`PLACEHOLDERS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    parts: Vec<Part>,
}

impl CommandTemplate {
    /// Parses a command line; an empty one or an unknown placeholder is a usage error that
    /// names it and the known ones.
    pub fn parse(text: &str) -> Result<CommandTemplate> {
        if text.trim().is_empty() {
            return Err(usage(
                "the `command` is empty: give the trainer's command line, e.g. \
                 `python train.py --arch {arch} --seed {seed} --out {trial_dir}`",
            ));
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let (before, after) = rest.split_at(open);
            literal.push_str(before);
            let name_len = after[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len() - 1);
            let name = &after[1..1 + name_len];
            let closed = after[1 + name_len..].starts_with('}');
            // `${NAME}` is the shell's; `{a,b}` and `{1..3}` are not names.
            let shell_variable = literal.ends_with('$');
            if closed && !name.is_empty() && !shell_variable {
                match PLACEHOLDERS.iter().position(|p| *p == name) {
                    Some(i) => {
                        if !literal.is_empty() {
                            parts.push(Part::Text(std::mem::take(&mut literal)));
                        }
                        parts.push(Part::Value(i));
                    }
                    None => {
                        return Err(usage(format!(
                            "the `command` has an unknown placeholder {{{}}}: the known ones are \
                             {} (write `${{NAME}}` for a shell variable)",
                            ends(name, 60),
                            PLACEHOLDERS
                                .iter()
                                .map(|p| format!("{{{p}}}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )))
                    }
                }
                rest = &after[2 + name_len..];
            } else {
                literal.push('{');
                rest = &after[1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(CommandTemplate { parts })
    }

    /// The command line with every placeholder replaced by its value (in [`PLACEHOLDERS`]'
    /// order), quoted for `sh`.
    pub fn expand(&self, values: &[&str; 4]) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Value(i) => shell_quote(values[*i]),
            })
            .collect()
    }
}

/// `text` whole up to `max` characters, else by its ends and its length: an error quotes what
/// it must, never a flood.
fn ends(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max * 3 / 4).collect();
    let tail: String = text.chars().skip(n - max / 4).collect();
    format!("{head} … {tail} ({n} characters)")
}

/// `text` as one word for `sh`: in single quotes, each `'` written `'\''`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// What a command's result line gives.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandResult {
    /// The value searched on.
    pub objective: f64,
    /// Every other value, reported (and visible to the search when an objective or constraint
    /// names it).
    pub reported: BTreeMap<String, f64>,
    /// The cost the command gave, if it gave one.
    pub cost_s: Option<f64>,
}

/// Parses the result from a command's stdout (its last non-empty line, a JSON object);
/// `required` are the metrics the study's objectives and constraints name, each of which must
/// be given (`valid_acc` is the objective). The error says what is wrong, for a failed trial.
pub fn parse_result(
    stdout: &str,
    required: &[String],
) -> std::result::Result<CommandResult, String> {
    const FORM: &str = "the last stdout line must be a JSON object such as \
                        {\"objective\": 91.3, \"reported\": {\"test_acc\": 93.9}, \"cost_s\": 12.0}";
    let Some(line) = stdout.lines().map(str::trim).rfind(|l| !l.is_empty()) else {
        return Err(format!("the command printed nothing on stdout: {FORM}"));
    };
    let shown = ends(line, 200);
    let value: serde_json::Value = serde_json::from_str(&non_finite_as_strings(line))
        .map_err(|e| format!("its last stdout line is not JSON ({e}): `{shown}`; {FORM}"))?;
    let serde_json::Value::Object(object) = value else {
        return Err(format!(
            "its last stdout line is not a JSON object: `{shown}`; {FORM}"
        ));
    };
    let number = |key: &str, v: &serde_json::Value| -> std::result::Result<f64, String> {
        let x = match v {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => match s.as_str() {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                _ => None,
            },
            _ => None,
        };
        match x {
            Some(x) if x.is_finite() => Ok(x),
            Some(x) => Err(format!("`{key}` is {x}, not a finite number: `{shown}`")),
            None => Err(format!("`{key}` is {v}, not a number: `{shown}`")),
        }
    };
    let map =
        |key: &str, v: &serde_json::Value| -> std::result::Result<BTreeMap<String, f64>, String> {
            let serde_json::Value::Object(m) = v else {
                return Err(format!(
                    "`{key}` must be a JSON object of numbers: `{shown}`"
                ));
            };
            m.iter()
                .map(|(k, x)| Ok((k.clone(), number(&format!("{key}.{k}"), x)?)))
                .collect()
        };
    let mut objective = None;
    let mut reported = BTreeMap::new();
    let mut metrics = BTreeMap::new();
    let mut cost_s = None;
    for (key, v) in &object {
        match key.as_str() {
            "objective" => objective = Some(number(key, v)?),
            "reported" => reported = map(key, v)?,
            "metrics" => metrics = map(key, v)?,
            "cost_s" => {
                let c = number(key, v)?;
                if c < 0.0 {
                    return Err(format!("`cost_s` is {c}: a cost is at least 0: `{shown}`"));
                }
                cost_s = Some(c);
            }
            other => {
                return Err(format!(
                    "unknown key `{}` in the result (known: objective, reported, metrics, \
                     cost_s): `{shown}`",
                    ends(other, 60)
                ))
            }
        }
    }
    let from_metrics = metrics.remove(OBJECTIVE_NAME);
    let objective = match (objective, from_metrics) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "the result gives both `objective` and `metrics.{OBJECTIVE_NAME}`: give the \
                 value searched on once: `{shown}`"
            ))
        }
        (Some(x), None) | (None, Some(x)) => x,
        (None, None) => {
            return Err(format!(
                "the result has no `objective` (nor `metrics.{OBJECTIVE_NAME}`): `{shown}`; \
                 {FORM}"
            ))
        }
    };
    reported.extend(metrics);
    if let Some(missing) = required
        .iter()
        .find(|n| n.as_str() != OBJECTIVE_NAME && !reported.contains_key(n.as_str()))
    {
        return Err(format!(
            "the study's objectives or constraints name `{missing}`, which the result does not \
             give (as `metrics.{missing}` or `reported.{missing}`): `{shown}`"
        ));
    }
    Ok(CommandResult {
        objective,
        reported,
        cost_s,
    })
}

/// `line` with the bare tokens `NaN`, `Infinity` and `-Infinity` that Python's `json` writes
/// (outside strings) made strings, so that they parse and are refused by name.
fn non_finite_as_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t))
        {
            out.push('"');
            out.push_str(token);
            out.push('"');
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The folder that holds the trials' folders of the study journaled at `journal`:
/// `run.jsonl` → `run.trials`.
pub fn trials_root(journal: &Path) -> PathBuf {
    let stem = match journal.extension() {
        Some(ext) if ext == "jsonl" => journal.with_extension(""),
        _ => journal.to_path_buf(),
    };
    let mut name = stem.file_name().unwrap_or_default().to_os_string();
    name.push(".trials");
    stem.with_file_name(name)
}

/// Runs a command for every trial; see the [module](self) for the protocol.
pub struct CommandEvaluator<A> {
    template: CommandTemplate,
    root: PathBuf,
    timeout: Option<Duration>,
    format: Box<dyn Fn(&A) -> String + Send + Sync>,
    required: Vec<String>,
    stop: Option<Arc<AtomicBool>>,
    next_trial: usize,
}

impl<A> std::fmt::Debug for CommandEvaluator<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandEvaluator")
            .field("template", &self.template)
            .field("root", &self.root)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<A> CommandEvaluator<A> {
    /// Runs `template` for each trial in a folder under `root`, the architecture written by
    /// `format` (its text form).
    pub fn new(
        template: CommandTemplate,
        root: PathBuf,
        format: impl Fn(&A) -> String + Send + Sync + 'static,
    ) -> CommandEvaluator<A> {
        CommandEvaluator {
            template,
            root,
            timeout: None,
            format: Box::new(format),
            required: Vec::new(),
            stop: None,
            next_trial: 0,
        }
    }

    /// Kills a trial's processes and fails it after `timeout`.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The metrics every result must give (the study's objectives and constraints).
    pub fn requiring(mut self, metrics: Vec<String>) -> Self {
        self.required = metrics;
        self
    }

    /// Kills the running trial's processes once `flag` is set (Ctrl-C); the trial fails.
    pub fn stop_on(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    fn run(&self, arch: &str, trial: usize, seed: u64) -> Evaluation {
        let started = Instant::now();
        let dir = self.root.join(trial.to_string());
        let fail = |reason: String| Evaluation::Failed {
            reason,
            cost_s: started.elapsed().as_secs_f64(),
        };
        let logs = std::fs::create_dir_all(&dir).and_then(|()| {
            Ok((
                File::create(dir.join("stdout.log"))?,
                File::create(dir.join("stderr.log"))?,
            ))
        });
        let (out, err) = match logs {
            Ok(files) => files,
            Err(e) => {
                return fail(format!(
                    "cannot write the trial folder {}: {e}",
                    dir.display()
                ))
            }
        };
        let (trial_text, seed_text) = (trial.to_string(), seed.to_string());
        let dir_text = dir.to_string_lossy().into_owned();
        let values = [
            arch,
            trial_text.as_str(),
            seed_text.as_str(),
            dir_text.as_str(),
        ];
        let line = self.template.expand(&values);
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(&line)
            .env("NASBO_ARCH", arch)
            .env("NASBO_TRIAL", &trial_text)
            .env("NASBO_SEED", &seed_text)
            .env("NASBO_TRIAL_DIR", &dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group, so that a timeout kills whatever it started.
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => return fail(format!("cannot start `sh -c {}`: {e}", shell_quote(&line))),
        };
        let mut pause = Duration::from_millis(2);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => {
                    kill_group(child.id());
                    let _ = child.wait();
                    return fail(format!("cannot wait for the command: {e}"));
                }
            }
            let timed_out = self.timeout.is_some_and(|t| started.elapsed() >= t);
            let stopped = self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst));
            if timed_out || stopped {
                kill_group(child.id());
                let _ = child.wait();
                let why = if timed_out {
                    format!(
                        "the command ran past trial-timeout-s ({} s) and was killed with its \
                         process group",
                        self.timeout.expect("set").as_secs_f64()
                    )
                } else {
                    "the search was interrupted while the command ran: it was killed with its \
                     process group"
                        .to_string()
                };
                return fail(self.reason(&why, &dir));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        };
        let wall_s = started.elapsed().as_secs_f64();
        if !status.success() {
            return Evaluation::Failed {
                reason: self.reason(&exit_words(status), &dir),
                cost_s: wall_s,
            };
        }
        let stdout = match read_tail(&dir.join("stdout.log"), 1 << 20) {
            Ok(text) => text,
            Err(e) => return fail(format!("cannot read the command's stdout.log: {e}")),
        };
        match parse_result(&stdout, &self.required) {
            Ok(result) => Evaluation::Ok {
                objective: result.objective,
                reported: result.reported,
                cost_s: result.cost_s.unwrap_or(wall_s),
            },
            Err(problem) => Evaluation::Failed {
                reason: self.reason(
                    &format!("the command exited with status 0 but {problem}"),
                    &dir,
                ),
                cost_s: wall_s,
            },
        }
    }

    /// A failed trial's reason: what happened, where its logs are, and the tail of stderr.
    fn reason(&self, what: &str, dir: &Path) -> String {
        let tail = read_tail(&dir.join("stderr.log"), 64 << 10)
            .map(|t| last_lines(&t, STDERR_TAIL_LINES))
            .unwrap_or_default();
        let logs = dir.display();
        if tail.is_empty() {
            format!("{what}; stderr was empty (logs in {logs})")
        } else {
            format!("{what}; last lines of stderr (logs in {logs}):\n{tail}")
        }
    }
}

impl<A> Evaluator<A> for CommandEvaluator<A> {
    fn evaluate(&mut self, arch: &A, seed: u64) -> Evaluation {
        let trial = self.next_trial;
        self.evaluate_trial(arch, trial, seed)
    }

    fn evaluate_trial(&mut self, arch: &A, trial: usize, seed: u64) -> Evaluation {
        self.next_trial = trial + 1;
        let text = (self.format)(arch);
        self.run(&text, trial, seed)
    }

    fn objective_name(&self) -> &str {
        OBJECTIVE_NAME
    }
}

/// How a process ended, in words.
fn exit_words(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("the command exited with status {code}"),
        (None, Some(signal)) => format!("the command was killed by signal {signal}"),
        (None, None) => format!("the command ended with {status}"),
    }
}

/// Kills the process group `pgid` (the shell's own `kill`: no unsafe code, no procps needed).
fn kill_group(pgid: u32) {
    let _ = Command::new("sh")
        .args(["-c", "kill -KILL \"-$1\" 2>/dev/null", "sh"])
        .arg(pgid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last `limit` bytes of a file, as text (a split character at the start dropped).
fn read_tail(path: &Path, limit: u64) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(limit);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(if start > 0 {
        // The first line may be cut: keep whole lines.
        text.split_once('\n')
            .map_or(text.clone(), |(_, r)| r.to_string())
    } else {
        text
    })
}

/// The last `n` non-empty lines of `text`, each cut to 300 characters.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| ends(l, 300))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The scoring of the command evaluator: `spec`'s command run for every trial, in folders
/// beside `journal`, the architecture written by `format`; `stop` kills a running command.
pub fn command_scoring<A: 'static>(
    spec: &StudySpec,
    journal: &Path,
    stop: Arc<AtomicBool>,
    format: impl Fn(&A) -> String + Send + Sync + 'static,
) -> Result<Scoring<A>> {
    let text = spec
        .command
        .as_deref()
        .ok_or_else(|| usage("`evaluator = \"command\"` needs a `command`"))?;
    let template = CommandTemplate::parse(text)?;
    let root = std::path::absolute(trials_root(journal))?;
    let evaluator = CommandEvaluator::new(template, root, format)
        .with_timeout(spec.trial_timeout_s.map(Duration::from_secs_f64))
        .requiring(spec.metric_names())
        .stop_on(stop);
    Ok(Scoring {
        evaluator: Box::new(evaluator),
        header: format!("the command `{}`", ends(text, 120)),
        protocol: "searched on the command's `objective` (valid_acc, maximised); its `reported` \
                   values only reported"
            .into(),
        reported_key: "test_acc".into(),
        optimum: None,
        // As with the trainer: every metric is one the command gives.
        resolved: objectives::measured(spec)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::UsageError;

    fn sh_printf(word: &str) -> String {
        let template = CommandTemplate::parse("printf %s {arch}").unwrap();
        let line = template.expand(&[word, "0", "0", "/tmp"]);
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert!(out.status.success(), "{line}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn quoted_values_survive_the_shell() {
        for word in [
            "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|none~2|",
            "width=64,depth=2,act=relu",
            "it's a 'test' with spaces, | pipes ~ tildes; $HOME `ls` \\ \"quotes\" * ?",
            "''",
            "",
            "line\nbreak",
        ] {
            assert_eq!(sh_printf(word), word);
        }
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn placeholders_are_replaced_and_checked() {
        let t = CommandTemplate::parse(
            "run {arch} {trial} {seed} --out {trial_dir}/x ${HOME} {a,b} {} {1..3} awk '{print $1}'",
        )
        .unwrap();
        assert_eq!(
            t.expand(&["A", "3", "77", "/d"]),
            "run 'A' '3' '77' --out '/d'/x ${HOME} {a,b} {} {1..3} awk '{print $1}'"
        );
        let err = CommandTemplate::parse("python t.py --arch {arch} --lr {foo}").unwrap_err();
        assert!(err.is::<UsageError>(), "{err}");
        let text = err.to_string();
        assert!(text.contains("{foo}"), "{text}");
        for p in PLACEHOLDERS {
            assert!(text.contains(&format!("{{{p}}}")), "{text}");
        }
        for empty in ["", "   \n"] {
            let err = CommandTemplate::parse(empty).unwrap_err();
            assert!(
                err.is::<UsageError>() && err.to_string().contains("empty"),
                "{err}"
            );
        }
    }

    #[test]
    fn result_lines_are_parsed() {
        let r = parse_result(
            "epoch 1\n{\"objective\": 91.3, \"reported\": {\"test_acc\": 93.9}, \"cost_s\": 12}\n\n",
            &[],
        )
        .unwrap();
        assert_eq!(r.objective, 91.3);
        assert_eq!(r.reported["test_acc"], 93.9);
        assert_eq!(r.cost_s, Some(12.0));
        let names = vec!["valid_acc".to_string(), "latency_ms".to_string()];
        let r = parse_result(
            "{\"metrics\": {\"valid_acc\": 90, \"latency_ms\": 3.1}, \"reported\": {\"test_acc\": 89}}",
            &names,
        )
        .unwrap();
        assert_eq!(r.objective, 90.0);
        assert_eq!(r.reported.len(), 2);
        assert_eq!(r.reported["latency_ms"], 3.1);
        assert_eq!(r.cost_s, None);
    }

    #[test]
    fn bad_result_lines_say_what_is_wrong() {
        let names = ["valid_acc".to_string(), "latency_ms".to_string()];
        for (stdout, required, expected) in [
            ("", &[][..], "printed nothing"),
            ("\n  \n", &[][..], "printed nothing"),
            ("done\n", &[][..], "not JSON"),
            ("{\"objective\": 1}\ntrailing words", &[][..], "not JSON"),
            ("[1, 2]", &[][..], "not a JSON object"),
            (
                "{\"reported\": {\"test_acc\": 3}}",
                &[][..],
                "no `objective`",
            ),
            ("{\"objective\": NaN}", &[][..], "`objective` is NaN"),
            ("{\"objective\": -Infinity}", &[][..], "`objective` is -inf"),
            ("{\"objective\": \"high\"}", &[][..], "not a number"),
            (
                "{\"objective\": 1, \"reported\": {\"t\": NaN}}",
                &[][..],
                "`reported.t` is NaN",
            ),
            (
                "{\"objective\": 1, \"reported\": 3}",
                &[][..],
                "JSON object of numbers",
            ),
            ("{\"objective\": 1, \"cost_s\": -1}", &[][..], "at least 0"),
            ("{\"objectve\": 1}", &[][..], "unknown key `objectve`"),
            (
                "{\"objective\": 1, \"metrics\": {\"valid_acc\": 2}}",
                &[][..],
                "once",
            ),
            ("{\"objective\": 1}", &names[..], "`latency_ms`"),
        ] {
            let err = parse_result(stdout, required).unwrap_err();
            assert!(err.contains(expected), "{stdout:?}: {err}");
        }
        // A NaN inside a string is text, not a number.
        let r = parse_result("{\"objective\": 2, \"reported\": {\"NaN\": 1}}", &[]).unwrap();
        assert_eq!(r.reported["NaN"], 1.0);
    }

    #[test]
    fn the_trials_folder_sits_beside_the_journal() {
        assert_eq!(
            trials_root(Path::new("runs/cmd.jsonl")),
            Path::new("runs/cmd.trials")
        );
        assert_eq!(trials_root(Path::new("study")), Path::new("study.trials"));
        assert_eq!(
            trials_root(Path::new("/a/b.json")),
            Path::new("/a/b.json.trials")
        );
    }

    fn evaluator(command: &str, root: &Path) -> CommandEvaluator<String> {
        CommandEvaluator::new(
            CommandTemplate::parse(command).unwrap(),
            root.to_path_buf(),
            |a: &String| a.clone(),
        )
    }

    #[test]
    fn a_command_is_run_with_its_values_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = evaluator(
            "echo \"$NASBO_ARCH|$NASBO_TRIAL|$NASBO_SEED\" >&2; \
             test {arch} = \"$NASBO_ARCH\" && test {trial_dir} = \"$NASBO_TRIAL_DIR\" && \
             echo '{\"objective\": '{seed}'}'",
            dir.path(),
        );
        let arch = "a|b~c, d'e".to_string();
        match e.evaluate_trial(&arch, 4, 7) {
            Evaluation::Ok {
                objective, cost_s, ..
            } => {
                assert_eq!(objective, 7.0);
                assert!(cost_s >= 0.0);
            }
            other => panic!("{other:?}"),
        }
        let logs = dir.path().join("4");
        assert_eq!(
            std::fs::read_to_string(logs.join("stderr.log")).unwrap(),
            "a|b~c, d'e|4|7\n"
        );
        assert_eq!(
            std::fs::read_to_string(logs.join("stdout.log")).unwrap(),
            "{\"objective\": 7}\n"
        );
    }

    #[test]
    fn failures_are_failed_trials_with_the_stderr_tail() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = evaluator(
            "for i in $(seq 1 30); do echo line $i >&2; done; exit 3",
            dir.path(),
        );
        let Evaluation::Failed { reason, .. } = e.evaluate(&"x".to_string(), 0) else {
            panic!("a failed trial")
        };
        assert!(reason.contains("status 3"), "{reason}");
        assert!(
            reason.contains("line 30") && reason.contains("line 11"),
            "{reason}"
        );
        assert!(!reason.contains("line 10\n"), "{reason}");
        let mut e = evaluator("echo '{\"objective\": NaN}'", dir.path());
        let Evaluation::Failed { reason, .. } = e.evaluate(&"x".to_string(), 0) else {
            panic!("a failed trial")
        };
        assert!(
            reason.contains("status 0") && reason.contains("NaN"),
            "{reason}"
        );
        let started = Instant::now();
        let mut e = evaluator("echo started >&2; sleep 30 & sleep 30", dir.path())
            .with_timeout(Some(Duration::from_millis(300)));
        let Evaluation::Failed { reason, cost_s } = e.evaluate(&"x".to_string(), 0) else {
            panic!("a failed trial")
        };
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(cost_s >= 0.3, "{cost_s}");
        assert!(
            reason.contains("trial-timeout-s") && reason.contains("started"),
            "{reason}"
        );
    }
}
