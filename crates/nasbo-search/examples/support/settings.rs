//! BO settings written on the command line as `key=value` pairs of the `[bo]` table.

use nasbo_search::BoConfig;

/// Parses `encoding=wl,floor-quantile=0.25,wl-depths=[0,1]` into a [`BoConfig`]; panics with
/// the setting on an unknown key or a bad value.
pub fn parse(setting: &str) -> BoConfig {
    let mut toml_text = String::new();
    for kv in split(setting) {
        let (k, v) = kv
            .split_once('=')
            .unwrap_or_else(|| panic!("`{kv}` is not key=value"));
        let literal = v.parse::<f64>().is_ok() || v == "true" || v == "false" || v.starts_with('[');
        let value = if literal {
            v.to_string()
        } else {
            format!("\"{v}\"")
        };
        toml_text.push_str(&format!("{k} = {value}\n"));
    }
    toml::from_str(&toml_text).unwrap_or_else(|e| panic!("bad setting {setting}: {e}"))
}

/// Splits at the commas outside brackets.
fn split(setting: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in setting.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&setting[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&setting[start..]);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}
