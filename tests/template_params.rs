//! The template's parameter constraints against the function's own validation: every
//! value CloudFormation would let through to a variable the function reads must be one
//! the function accepts at init, and uses as given. Sample values go through both the
//! template's constraints (evaluated here, including a small matcher for the
//! `AllowedPattern` syntax the template uses) and `Config::from_lookup`.

use merge_deprovision::lambda::config::{Config, SIGNATURE_KEY_VAR};
use serde_yaml_ng::Value as Yaml;

fn template() -> Yaml {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .expect("the template");
    serde_yaml_ng::from_str(&text).expect("the template is YAML")
}

/// The parameters the function's environment takes unchanged (`VAR: !Ref Parameter`),
/// as (variable, parameter) pairs.
fn parameters_in_the_environment(template: &Yaml) -> Vec<(String, String)> {
    let variables =
        &template["Resources"]["DeprovisionFunction"]["Properties"]["Environment"]["Variables"];
    variables
        .as_mapping()
        .expect("the function's variables")
        .iter()
        .filter_map(|(name, value)| {
            let Yaml::Tagged(tagged) = value else {
                return None;
            };
            let parameter = tagged.value.as_str()?;
            (tagged.tag.to_string().trim_start_matches('!') == "Ref"
                && template["Parameters"].get(parameter).is_some())
            .then(|| (name.as_str().unwrap().to_owned(), parameter.to_owned()))
        })
        .collect()
}

/// Whether CloudFormation accepts `value` for `parameter`, by its Type, AllowedValues,
/// MinValue/MaxValue, MinLength/MaxLength and AllowedPattern.
fn template_accepts(parameter: &Yaml, value: &str) -> bool {
    let number = |key: &str| parameter.get(key).and_then(Yaml::as_f64);
    if let Some(allowed) = parameter.get("AllowedValues").and_then(Yaml::as_sequence) {
        let listed = allowed.iter().any(|a| match a {
            Yaml::String(s) => s == value,
            Yaml::Number(n) => n.to_string() == value,
            other => panic!("an allowed value this test does not read: {other:?}"),
        });
        if !listed {
            return false;
        }
    }
    match parameter["Type"].as_str().expect("a parameter type") {
        "Number" => {
            let Ok(n) = value.parse::<f64>() else {
                return false;
            };
            number("MinValue").is_none_or(|min| n >= min)
                && number("MaxValue").is_none_or(|max| n <= max)
        }
        "String" => {
            let length = value.chars().count() as f64;
            number("MinLength").is_none_or(|min| length >= min)
                && number("MaxLength").is_none_or(|max| length <= max)
                && parameter
                    .get("AllowedPattern")
                    .and_then(Yaml::as_str)
                    .is_none_or(|pattern| pattern::full_match(pattern, value))
        }
        other => panic!("a parameter type this test does not evaluate: {other}"),
    }
}

/// Values worth trying for any parameter: bounds, case, spaces, reserved prefixes,
/// control characters and lengths either side of the function's limits. Whole numbers
/// only: CloudFormation's Number type also takes fractions, which the function refuses
/// at init naming the variable, and no template constraint can refuse them.
fn samples(parameter: &Yaml) -> Vec<String> {
    let mut values: Vec<String> = [
        "",
        " ",
        "a",
        "x y",
        " lead",
        "trail ",
        "AWS/Custom",
        "AWS/",
        "aws/custom",
        "AWSCustom",
        "Security/Offboarding",
        "a:b#c.d-e_f/g",
        "bad\"quote",
        "tab\there",
        "bell\u{7}",
        "caf\u{e9}",
        "merge-deprovision",
        "MergeDeprovision",
        "terminated",
        "undetermined",
        "TERMINATED",
        "ignore",
        "-1",
        "0",
        "1",
        "24",
    ]
    .map(str::to_owned)
    .to_vec();
    for length in [127, 128, 129, 254, 255, 256] {
        values.push("n".repeat(length));
    }
    for key in ["MinValue", "MaxValue"] {
        if let Some(bound) = parameter.get(key).and_then(Yaml::as_i64) {
            values.extend([bound - 1, bound, bound + 1].map(|n| n.to_string()));
        }
    }
    if let Some(allowed) = parameter.get("AllowedValues").and_then(Yaml::as_sequence) {
        values.extend(allowed.iter().map(|a| match a {
            Yaml::String(s) => s.clone(),
            other => serde_yaml_ng::to_string(other).unwrap().trim().to_owned(),
        }));
    }
    if let Some(default) = parameter.get("Default") {
        values.push(serde_yaml_ng::to_string(default).unwrap().trim().to_owned());
        if let Some(text) = default.as_str() {
            values.push(text.to_owned());
        }
    }
    values
}

/// What the function does with `value` in `variable`, beside a signature key.
fn function_reads(variable: &str, value: &str) -> Result<Config, String> {
    Config::from_lookup(|name| match name {
        _ if name == variable => Some(value.to_owned()),
        _ if name == SIGNATURE_KEY_VAR => Some("k".to_owned()),
        _ => None,
    })
    .map_err(|e| e.to_string())
}

#[test]
fn every_value_the_template_lets_through_is_one_the_function_accepts_as_given() {
    let template = template();
    let pairs = parameters_in_the_environment(&template);
    assert!(
        pairs.len() >= 5,
        "the environment takes the policy and naming parameters: {pairs:?}"
    );
    for (variable, name) in pairs {
        let parameter = &template["Parameters"][name.as_str()];
        for value in samples(parameter) {
            if !template_accepts(parameter, &value) {
                continue;
            }
            let config = function_reads(&variable, &value).unwrap_or_else(|error| {
                panic!("{name} lets {value:?} through, but the function refuses it: {error}")
            });
            let used = match variable.as_str() {
                "POWERTOOLS_SERVICE_NAME" => Some(config.service),
                "POWERTOOLS_METRICS_NAMESPACE" => Some(config.metrics_namespace),
                _ => None,
            };
            if let Some(used) = used {
                assert_eq!(used, value, "{name}: the function uses another value");
            }
        }
    }
}

#[test]
fn each_parameters_default_is_accepted_by_the_template_and_the_function() {
    let template = template();
    for (variable, name) in parameters_in_the_environment(&template) {
        let parameter = &template["Parameters"][name.as_str()];
        let default = serde_yaml_ng::to_string(&parameter["Default"]).unwrap();
        let default = default.trim().trim_matches('"');
        assert!(template_accepts(parameter, default), "{name} = {default}");
        assert!(
            function_reads(&variable, default).is_ok(),
            "{name} = {default}"
        );
    }
}

#[test]
fn the_metrics_namespace_refuses_what_cloudwatch_reserves_and_the_function_refuses() {
    let template = template();
    let namespace = &template["Parameters"]["MetricsNamespace"];
    for value in [
        "AWS/Custom",
        "AWS/",
        "bad\"quote",
        " lead",
        &"n".repeat(256),
    ] {
        assert!(!template_accepts(namespace, value), "{value:?}");
    }
    assert!(function_reads("POWERTOOLS_METRICS_NAMESPACE", "AWS/Custom").is_err());
    for value in [
        "MergeDeprovision",
        "Security/Offboarding",
        "a b",
        "aws/custom",
    ] {
        assert!(template_accepts(namespace, value), "{value:?}");
    }
}

#[test]
fn the_service_name_is_constrained_to_what_the_function_accepts() {
    let template = template();
    let service = &template["Parameters"]["ServiceName"];
    assert!(
        service.get("AllowedPattern").is_some(),
        "ServiceName has a constraint"
    );
    for value in ["bell\u{7}", "", &"n".repeat(129), "trail "] {
        assert!(!template_accepts(service, value), "{value:?}");
    }
    assert!(function_reads("POWERTOOLS_SERVICE_NAME", &"n".repeat(129)).is_err());
    assert!(template_accepts(service, "offboarding service"));
}

#[test]
fn the_key_refresh_age_takes_the_range_the_function_accepts() {
    let template = template();
    let parameter = &template["Parameters"]["SignatureKeyRefreshSeconds"];
    assert_eq!(parameter["MinValue"].as_f64(), Some(0.0));
    assert_eq!(parameter["MaxValue"].as_f64(), Some(86_400.0));
    for value in ["0", "300", "86400"] {
        assert!(template_accepts(parameter, value), "{value}");
        assert!(
            function_reads("SIGNATURE_KEY_REFRESH_SECONDS", value).is_ok(),
            "{value}"
        );
    }
    for value in ["-1", "86401"] {
        assert!(!template_accepts(parameter, value), "{value}");
        assert!(
            function_reads("SIGNATURE_KEY_REFRESH_SECONDS", value).is_err(),
            "{value}"
        );
    }
}

#[test]
fn the_pattern_matcher_reads_the_syntax_the_template_uses() {
    use pattern::full_match;
    assert!(full_match("^[a-c]{1,2}$", "ab"));
    assert!(!full_match("^[a-c]{1,2}$", "abc"));
    assert!(!full_match("^[a-c]{1,2}$", ""));
    assert!(full_match("^(?!AB)[A-Z]+$", "BA"));
    assert!(!full_match("^(?!AB)[A-Z]+$", "ABC"));
    assert!(full_match("^x(yz)?$", "x") && full_match("^x(yz)?$", "xyz"));
    assert!(!full_match("^x(yz)?$", "xy"));
    assert!(full_match("^[^\\x00-\\x1F]*$", "ok") && !full_match("^[^\\x00-\\x1F]*$", "a\tb"));
    assert!(full_match("^[ -~]$", "~") && !full_match("^[ -~]$", "\u{e9}"));
    assert!(full_match("^a.c$", "abc") && full_match("^[.]$", "."));
}

/// A backtracking matcher for the subset of Java regular expressions the template's
/// patterns use: `^`, `$`, literals, `.`, classes with ranges, negation and `\xHH`,
/// groups, negative lookahead `(?!...)`, and the quantifiers `?`, `*`, `+`, `{m}`,
/// `{m,}`, `{m,n}`. Anything else panics, so a new pattern cannot be misread.
mod pattern {
    #[derive(Debug)]
    enum Atom {
        Start,
        End,
        Any,
        Char(char),
        Class {
            negated: bool,
            ranges: Vec<(char, char)>,
        },
        Group(Vec<Node>),
        NotFollowedBy(Vec<Node>),
    }

    #[derive(Debug)]
    struct Node {
        atom: Atom,
        min: usize,
        max: usize,
    }

    /// Whether `pattern` matches the whole of `text`.
    pub fn full_match(pattern: &str, text: &str) -> bool {
        let pattern: Vec<char> = pattern.chars().collect();
        let mut at = 0;
        let nodes = sequence(&pattern, &mut at);
        assert_eq!(at, pattern.len(), "unbalanced pattern");
        let text: Vec<char> = text.chars().collect();
        matches(&nodes, &text, 0, &|end| end == text.len())
    }

    fn sequence(p: &[char], at: &mut usize) -> Vec<Node> {
        let mut nodes = Vec::new();
        while *at < p.len() && p[*at] != ')' {
            let atom = match p[*at] {
                '^' => Atom::Start,
                '$' => Atom::End,
                '.' => Atom::Any,
                '|' => panic!("alternation is not supported"),
                '(' => {
                    let lookahead = p[*at + 1..].starts_with(&['?', '!']);
                    *at += if lookahead { 3 } else { 1 };
                    assert!(p[*at] != '?', "only (?!...) among the (?...) forms");
                    let inner = sequence(p, at);
                    assert_eq!(p.get(*at), Some(&')'), "an unclosed group");
                    if lookahead {
                        Atom::NotFollowedBy(inner)
                    } else {
                        Atom::Group(inner)
                    }
                }
                '[' => class(p, at),
                '\\' => {
                    *at += 1;
                    Atom::Char(escaped(p, at))
                }
                c => Atom::Char(c),
            };
            *at += 1;
            let (min, max) = quantifier(p, at);
            nodes.push(Node { atom, min, max });
        }
        nodes
    }

    /// Reads the escape at `p[*at]` (after the backslash), leaving `at` on its last char.
    fn escaped(p: &[char], at: &mut usize) -> char {
        match p[*at] {
            'x' => {
                let hex: String = p[*at + 1..*at + 3].iter().collect();
                *at += 2;
                char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap()
            }
            c if c.is_ascii_alphanumeric() => panic!("the escape \\{c} is not supported"),
            c => c,
        }
    }

    /// Reads a class from `p[*at] == '['`, leaving `at` on its `]`.
    fn class(p: &[char], at: &mut usize) -> Atom {
        *at += 1;
        let negated = p[*at] == '^';
        if negated {
            *at += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        while p[*at] != ']' || first {
            first = false;
            let low = class_char(p, at);
            let high = if p[*at + 1] == '-' && p[*at + 2] != ']' {
                *at += 2;
                class_char(p, at)
            } else {
                low
            };
            ranges.push((low, high));
            *at += 1;
        }
        Atom::Class { negated, ranges }
    }

    /// Reads one character of a class, escaped or not, leaving `at` on its last char.
    fn class_char(p: &[char], at: &mut usize) -> char {
        match p[*at] {
            '\\' => {
                *at += 1;
                escaped(p, at)
            }
            '[' => panic!("nested classes are not supported"),
            c => c,
        }
    }

    fn quantifier(p: &[char], at: &mut usize) -> (usize, usize) {
        let bounds = match p.get(*at) {
            Some('?') => (0, 1),
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            Some('{') => {
                let close = *at + p[*at..].iter().position(|&c| c == '}').unwrap();
                let inside: String = p[*at + 1..close].iter().collect();
                *at = close;
                match inside.split_once(',') {
                    None => {
                        let n = inside.parse().unwrap();
                        (n, n)
                    }
                    Some((low, "")) => (low.parse().unwrap(), usize::MAX),
                    Some((low, high)) => (low.parse().unwrap(), high.parse().unwrap()),
                }
            }
            _ => return (1, 1),
        };
        *at += 1;
        bounds
    }

    fn matches(nodes: &[Node], text: &[char], at: usize, then: &dyn Fn(usize) -> bool) -> bool {
        let Some((node, rest)) = nodes.split_first() else {
            return then(at);
        };
        match &node.atom {
            Atom::Start => at == 0 && matches(rest, text, at, then),
            Atom::End => at == text.len() && matches(rest, text, at, then),
            Atom::NotFollowedBy(inner) => {
                !matches(inner, text, at, &|_| true) && matches(rest, text, at, then)
            }
            _ => repeat(node, rest, text, at, 0, then),
        }
    }

    /// Greedy repetition of `node`, `count` times so far, then the `rest`.
    fn repeat(
        node: &Node,
        rest: &[Node],
        text: &[char],
        at: usize,
        count: usize,
        then: &dyn Fn(usize) -> bool,
    ) -> bool {
        let more = count < node.max
            && one(&node.atom, text, at, &|next| {
                next > at && repeat(node, rest, text, next, count + 1, then)
            });
        more || (count >= node.min && matches(rest, text, at, then))
    }

    fn one(atom: &Atom, text: &[char], at: usize, then: &dyn Fn(usize) -> bool) -> bool {
        let Some(&c) = text.get(at) else {
            return matches!(atom, Atom::Group(_)) && group(atom, text, at, then);
        };
        match atom {
            Atom::Any => then(at + 1),
            Atom::Char(expected) => c == *expected && then(at + 1),
            Atom::Class { negated, ranges } => {
                let inside = ranges.iter().any(|&(low, high)| (low..=high).contains(&c));
                inside != *negated && then(at + 1)
            }
            Atom::Group(_) => group(atom, text, at, then),
            _ => unreachable!("anchors and lookaheads are matched in place"),
        }
    }

    fn group(atom: &Atom, text: &[char], at: usize, then: &dyn Fn(usize) -> bool) -> bool {
        let Atom::Group(inner) = atom else {
            unreachable!()
        };
        matches(inner, text, at, then)
    }
}
