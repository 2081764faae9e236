//! The layers as the tree shows them, checked on the sources themselves: only the edge
//! knows Lambda, imports point down, no two domain modules need each other, and no file
//! or function grows past what a reader takes in at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest file under `src/`, in lines.
const MAX_FILE_LINES: usize = 800;
/// Longest function under `src/` outside tests, in lines.
const MAX_FUNCTION_LINES: usize = 80;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, as (path relative to `src/`, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&src(), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let relative = p
                .strip_prefix(src())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (relative, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The lines that are code: comments and doc comments dropped.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// The top-level folder (or file) a source belongs to: `domain`, `app`, `lambda`, ...
fn layer(path: &str) -> &str {
    path.split('/').next().unwrap().trim_end_matches(".rs")
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The first segment of each path a `use` group names: `{a::b, c}` names `a` and `c`.
fn group_heads(text: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0usize, true);
    for (at, c) in text.char_indices().skip(1) {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start = true,
            c if start && !c.is_whitespace() => {
                heads.push(ident(&text[at..]));
                start = false;
            }
            _ => {}
        }
    }
    heads.retain(|h| !h.is_empty());
    heads
}

/// The module path of a source under `src/`: `app/sweep/account.rs` is
/// `["app", "sweep", "account"]`, a `mod.rs` is its folder's module.
fn module_of(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = path
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// The modules directly under the crate that a source names: through `crate::` (a path
/// or a `use` group) and through `super::`, resolved from the source's own module.
fn layers_named(path: &str, text: &str) -> BTreeSet<String> {
    let module = module_of(path);
    let mut named = BTreeSet::new();
    for line in code_lines(text) {
        for (at, _) in line.match_indices("crate::") {
            let rest = &line[at + "crate::".len()..];
            if rest.starts_with('{') {
                named.extend(group_heads(rest));
            } else {
                named.insert(ident(rest));
            }
        }
        for (at, _) in line.match_indices("super::") {
            // Only the first `super::` of a run: `super::super::x` is one path.
            if line[..at].ends_with("super::") {
                continue;
            }
            let mut rest = &line[at..];
            let mut up = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                up += 1;
                rest = after;
            }
            let resolved = &module[..module.len().saturating_sub(up)];
            match resolved.first() {
                Some(layer) => named.insert(layer.clone()),
                None if rest.starts_with('{') => {
                    named.extend(group_heads(rest));
                    true
                }
                None => named.insert(ident(rest)),
            };
        }
    }
    named.retain(|n| !n.is_empty());
    named
}

#[test]
fn the_layer_reader_sees_groups_and_relative_paths() {
    let text = "use crate::{lambda::state::App, domain};\nuse super::super::super::net::Url;\n";
    let named = layers_named("app/sweep/account.rs", text);
    assert_eq!(
        named,
        BTreeSet::from(["domain".to_owned(), "lambda".to_owned(), "net".to_owned()])
    );
    let sideways = layers_named("app/sweep/account.rs", "use super::lease::holder;\n");
    assert_eq!(sideways, BTreeSet::from(["app".to_owned()]));
}

#[test]
fn only_the_edge_and_main_name_the_lambda_crates() {
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        if path == "main.rs" || path.starts_with("lambda/") {
            continue;
        }
        if code_lines(&text).any(|l| l.contains("lambda_http") || l.contains("lambda_runtime")) {
            offenders.push(path);
        }
    }
    assert!(
        offenders.is_empty(),
        "outside the edge, these name lambda_http or lambda_runtime: {offenders:?}"
    );
}

#[test]
fn imports_point_down_the_layers() {
    // What each layer may name besides itself; anything not listed is above it.
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("domain", &[][..]),
        ("net", &[][..]),
        ("aws", &["domain"][..]),
        ("merge", &["domain", "net"][..]),
        ("scim", &["domain", "net"][..]),
        ("telemetry", &["domain"][..]),
        (
            "app",
            &["domain", "aws", "merge", "scim", "net", "telemetry"][..],
        ),
    ]);
    let mut offenders = Vec::new();
    for (path, text) in sources() {
        let own = layer(&path);
        let Some(may) = allowed.get(own) else {
            continue;
        };
        for named in layers_named(&path, &text) {
            if named != own && !may.contains(&named.as_str()) {
                offenders.push(format!("{path} names crate::{named}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "imports pointing up:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_two_domain_modules_need_each_other() {
    // Each domain module and the domain modules it names.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let Some(file) = path.strip_prefix("domain/") else {
            continue;
        };
        let module = file
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        let uses = graph.entry(module.clone()).or_default();
        // A file of `domain/ledger/` is part of `ledger`: its `super::x` is `ledger`'s own
        // `x`, and one more `super::` reaches the domain's modules.
        let depth = file.matches('/').count();
        for line in code_lines(&text) {
            let mut heads = Vec::new();
            for (at, _) in line.match_indices("crate::domain::") {
                let rest = &line[at + "crate::domain::".len()..];
                if rest.starts_with('{') {
                    heads.extend(group_heads(rest));
                } else {
                    heads.push(ident(rest));
                }
            }
            let to_domain = "super::".repeat(depth + 1);
            for (at, _) in line.match_indices(to_domain.as_str()) {
                if !line[..at].ends_with("super::") {
                    heads.push(ident(&line[at + to_domain.len()..]));
                }
            }
            for name in heads {
                if !name.is_empty() && name != module {
                    uses.insert(name);
                }
            }
        }
    }
    assert!(graph.len() > 5, "the domain's modules were not found");
    // A cycle of any length, found by a depth-first walk from each module.
    let mut cycles = Vec::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start {
                    cycles.push(trail.join(" -> ") + " -> " + start);
                } else if !trail.contains(next) {
                    let mut longer = trail.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "domain modules in a circle:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn no_file_under_src_is_longer_than_a_reader_takes_in() {
    let long: Vec<String> = sources()
        .into_iter()
        .map(|(path, text)| (path, text.lines().count()))
        .filter(|(_, lines)| *lines > MAX_FILE_LINES)
        .map(|(path, lines)| format!("{path}: {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// The functions of `text` outside its test modules, as (name, first line, lines).
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    // The line at `from` opens a block at `depth`: the index of the line that closes it.
    let close = |from: usize, depth: usize| {
        (from + 1..lines.len())
            .find(|&i| indent(lines[i]) == depth && lines[i].trim_start().starts_with('}'))
            .unwrap_or(lines.len() - 1)
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines.get(i + 1).is_some_and(|next| {
                next.trim_start().starts_with("mod ") && next.trim_end().ends_with('{')
            })
        {
            i = close(i + 1, indent(line)) + 1;
            continue;
        }
        let mut signature = trimmed;
        if signature.starts_with("pub(")
            && let Some(close) = signature.find(") ")
        {
            signature = &signature[close + 2..];
        }
        let signature = signature
            .trim_start_matches("pub ")
            .trim_start_matches("default ")
            .trim_start_matches("const ")
            .trim_start_matches("async ")
            .trim_start_matches("unsafe ")
            .trim_start_matches("extern \"C\" ");
        if let Some(rest) = signature.strip_prefix("fn ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // The signature may run over several lines; a declaration has no body, and a
            // one-line function closes where it opens.
            let Some(open) = (i..lines.len()).find(|&k| {
                let t = lines[k].trim_end();
                t.ends_with('{') || t.ends_with(';') || t.ends_with('}')
            }) else {
                break;
            };
            if lines[open].trim_end().ends_with('{') {
                let end = close(open, indent(line));
                found.push((name, i + 1, end - i + 1));
            }
        }
        i += 1;
    }
    found
}

#[test]
fn the_function_length_check_sees_every_visibility_where_clauses_and_methods() {
    let body = "        let x = 1;\n".repeat(MAX_FUNCTION_LINES);
    let text = format!(
        "impl Thing {{\n    pub(super) async fn step<T>(\n        t: T,\n    ) -> u8\n    \
         where\n        T: Copy,\n    {{\n{body}        1\n    }}\n\n    \
         pub(in crate::app) unsafe fn other() {{\n{body}    }}\n}}\n"
    );
    let found = functions(&text);
    let names: Vec<&str> = found.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["step", "other"]);
    assert!(
        found
            .iter()
            .all(|(_, _, lines)| *lines > MAX_FUNCTION_LINES)
    );
}

#[test]
fn the_function_length_check_sees_a_long_function_and_skips_tests() {
    let body = "    let x = 1;\n".repeat(MAX_FUNCTION_LINES);
    let text = format!(
        "pub async fn long(\n    a: u8,\n) -> u8 {{\n{body}    x\n}}\n\nfn short() {{}}\n\n\
         #[cfg(test)]\nmod tests {{\n    fn in_tests() {{\n{body}    }}\n}}\n"
    );
    let found = functions(&text);
    assert_eq!(
        found,
        vec![("long".to_owned(), 1, MAX_FUNCTION_LINES + 5)],
        "a one-line function has no closing line of its own and is not listed"
    );
}

#[test]
fn no_function_under_src_is_longer_than_a_reader_takes_in() {
    let mut long = Vec::new();
    for (path, text) in sources() {
        if path.ends_with("/tests.rs") {
            continue;
        }
        for (name, line, lines) in functions(&text) {
            if lines > MAX_FUNCTION_LINES {
                long.push(format!("{path}:{line} {name}: {lines} lines"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}
