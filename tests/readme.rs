//! The README and `docs/` against the repository: every path they name exists, every
//! link (and its anchor) resolves, every template parameter and output they list exists,
//! every parameter and output of the template is documented, and the layout lists every
//! source file.

use serde_yaml_ng::Value as Yaml;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every Markdown file under docs/, with their text.
fn documents() -> Vec<(PathBuf, String)> {
    let mut paths = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect()
}

fn name(path: &Path) -> String {
    path.strip_prefix(root()).unwrap().display().to_string()
}

/// Top-level directories whose paths the documents name.
const TREES: [&str; 10] = [
    "src/",
    "tests/",
    "docs/",
    "scripts/",
    "events/",
    "examples/",
    "dev/",
    "benches/",
    "fuzz/",
    ".ci/",
];

/// Paths the documents name that are made by running something, not checked in.
const MADE_BY_RUNNING: [&str; 3] = ["fuzz/artifacts/request_path/", "samconfig.toml", ".venv"];

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// Every repository path in `text`: anything starting with one of the top-level
/// directories, anywhere (code blocks included), and every backticked file name.
fn named_paths(text: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for tree in TREES {
        for (at, _) in text.match_indices(tree) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| path_char(c) || c == '$') {
                continue;
            }
            let path: String = text[at..].chars().take_while(|&c| path_char(c)).collect();
            // `examples/bare-function*.rs` names the files that start so.
            let glob = text[at + path.len()..].starts_with('*');
            let path = path.trim_end_matches('.');
            paths.insert(if glob {
                format!("{path}*")
            } else {
                path.to_owned()
            });
        }
    }
    for (i, token) in text.split('`').enumerate() {
        let is_file = [
            ".rs", ".sh", ".py", ".json", ".toml", ".yaml", ".md", ".example",
        ]
        .iter()
        .any(|ext| token.ends_with(ext));
        if i % 2 == 1 && is_file && token.chars().all(path_char) && !token.contains('/') {
            paths.insert(token.to_owned());
        }
    }
    paths
}

#[test]
fn every_path_the_readme_and_docs_name_exists() {
    let mut missing = Vec::new();
    for (path, text) in documents() {
        for named in named_paths(&text) {
            if MADE_BY_RUNNING.contains(&named.as_str()) {
                continue;
            }
            let exists = if let Some(prefix) = named.strip_suffix('*') {
                let (directory, start) = prefix.rsplit_once('/').unwrap();
                std::fs::read_dir(root().join(directory)).is_ok_and(|mut entries| {
                    entries.any(|e| e.unwrap().file_name().to_string_lossy().starts_with(start))
                })
            } else if named.contains('/') {
                root().join(&named).exists()
            } else {
                // A bare file name: a sample event, a file at the top, or a module file.
                root().join(&named).exists()
                    || root().join("events").join(&named).exists()
                    || (named == "mod.rs" && root().join("src/lambda/mod.rs").exists())
            };
            if !exists {
                missing.push(format!("{}: {named}", name(&path)));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but missing:\n{}",
        missing.join("\n")
    );
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|&c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut anchors = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            anchors.insert(anchor(line.trim_start_matches('#')));
        }
    }
    anchors
}

#[test]
fn every_link_between_the_documents_resolves_to_a_file_and_heading() {
    let mut broken = Vec::new();
    for (path, text) in documents() {
        for (at, _) in text.match_indices("](") {
            let target: String = text[at + 2..].chars().take_while(|&c| c != ')').collect();
            if target.starts_with("http") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let file = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(file)
            };
            let Ok(linked) = std::fs::read_to_string(&file) else {
                if !file.exists() {
                    broken.push(format!("{}: {target}", name(&path)));
                }
                continue;
            };
            if !fragment.is_empty() && !anchors(&linked).contains(fragment) {
                broken.push(format!("{}: {target} (no such heading)", name(&path)));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn keys(template: &Yaml, section: &str) -> BTreeSet<String> {
    template[section]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// Backticked tokens of `text`.
fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

#[test]
fn every_parameter_and_output_the_documents_list_is_in_the_template() {
    let template = template();
    let (parameters, outputs) = (keys(&template, "Parameters"), keys(&template, "Outputs"));
    let mut listed_parameters = 0;
    for (path, text) in documents() {
        // The first column of every table headed `| parameter |`.
        let mut in_table = false;
        for line in text.lines() {
            in_table = (in_table && line.starts_with('|')) || line.starts_with("| parameter |");
            if in_table && !line.starts_with("| parameter |") && !line.starts_with("|---") {
                let first = line.split('|').nth(1).unwrap();
                for token in backticked(first) {
                    assert!(parameters.contains(token), "{}: {token}", name(&path));
                    listed_parameters += 1;
                }
            }
        }
        // The tokens of every `Outputs:` sentence.
        for (at, _) in text.match_indices("Outputs:") {
            let sentence = text[at..].split(".\n").next().unwrap();
            for token in backticked(sentence) {
                assert!(outputs.contains(token), "{}: {token}", name(&path));
            }
        }
    }
    assert!(listed_parameters >= parameters.len(), "a parameter table");
}

#[test]
fn every_parameter_and_output_of_the_template_is_documented() {
    let template = template();
    let documented: BTreeSet<String> = documents()
        .iter()
        .flat_map(|(_, text)| backticked(text).map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let undocumented: Vec<String> = keys(&template, "Parameters")
        .into_iter()
        .chain(keys(&template, "Outputs"))
        .filter(|name| !documented.contains(name))
        .collect();
    assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
}

#[test]
fn the_layout_lists_every_source_file() {
    let layout = std::fs::read_to_string(root().join("docs/layout.md")).unwrap();
    let mut unlisted = Vec::new();
    let mut directories = vec![root().join("src")];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                directories.push(path);
            } else if path.file_name().is_some_and(|f| f != "mod.rs") {
                let file = name(&path);
                if !layout.contains(&format!("`{file}`")) {
                    unlisted.push(file);
                }
            }
        }
    }
    assert!(unlisted.is_empty(), "not in docs/layout.md: {unlisted:?}");
}

#[test]
fn the_readme_stays_a_front_page() {
    let lines = std::fs::read_to_string(root().join("README.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        lines < 300,
        "README.md has {lines} lines: move reference to docs/"
    );
}

/// The shell commands in the documents' fenced code blocks, one per command: lines
/// continued with a trailing backslash are joined.
fn commands(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut commands = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        let line = line.trim();
        match line.strip_suffix('\\') {
            Some(start) => {
                pending.push_str(start);
                pending.push(' ');
            }
            None => {
                pending.push_str(line);
                commands.push(std::mem::take(&mut pending));
            }
        }
    }
    commands
}

fn document(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap()
}

#[test]
fn the_key_rotation_ends_by_clearing_the_previous_key_as_sam_cli_reads_an_empty_value() {
    // On an update `sam deploy` keeps every parameter it is not given, so the last step
    // must clear the previous key, and SAM CLI reads only `'Name=""'` as empty
    // (scripts/sam-deploy-check.py runs these through SAM CLI itself).
    let operations = document("docs/operations.md");
    let finish = r#"sam deploy --parameter-overrides MergeWebhookSignatureKey="$NEW_KEY" 'MergeWebhookSignatureKeyPrevious=""'"#;
    assert!(
        commands(&operations).iter().any(|c| c == finish),
        "docs/operations.md: {finish}"
    );
    for (path, text) in documents() {
        for command in commands(&text) {
            if !command.contains("sam deploy") {
                continue;
            }
            // `Name=` with nothing after it: SAM CLI refuses the whole command.
            for word in command.split_whitespace() {
                assert!(
                    !(word.ends_with('=') && word.chars().next().is_some_and(char::is_uppercase)),
                    "{}: `{word}` in `{command}`: SAM CLI refuses an empty value; write '{word}\"\"'",
                    name(&path)
                );
            }
        }
    }
}

#[test]
fn every_documented_sam_deploy_step_is_marked_for_the_check_that_runs_it_through_sam_cli() {
    for (path, marker) in [
        ("README.md", "first-deploy"),
        ("docs/operations.md", "rotate-environment-key-start"),
        ("docs/operations.md", "rotate-environment-key-finish"),
        ("docs/operations.md", "switch-to-secret"),
        ("docs/deprovisioning.md", "deprovision-enforce"),
    ] {
        let line = format!("<!-- sam-deploy: {marker} -->\n```sh\n");
        assert!(document(path).contains(&line), "{path}: {line}");
    }
    // Every `sam deploy` command in a code block is one the check reads.
    for (path, text) in documents() {
        let mut marked = false;
        let mut in_code = false;
        for line in text.lines() {
            if line.starts_with("```") {
                in_code = !in_code;
                if !in_code {
                    marked = false;
                }
            } else if !in_code {
                marked = line.starts_with("<!-- sam-deploy: ");
            } else if line.trim_start().starts_with("sam deploy") {
                assert!(marked, "{}: `{line}` is checked by no marker", name(&path));
            }
        }
    }
}

#[test]
fn every_cargo_lambda_invoke_of_the_deployed_function_says_remote() {
    let mut checked = 0;
    for (path, text) in documents() {
        let inline = backticked(&text).map(str::to_owned);
        for command in commands(&text).into_iter().chain(inline) {
            let Some(at) = command.find("cargo lambda invoke") else {
                continue;
            };
            let command = &command[at..];
            if command == "cargo lambda invoke" {
                continue; // the command named in a sentence, not one to copy
            }
            let remote = command.contains("--remote");
            // A direct invocation (a sweep, a release) needs what only a deployed function
            // has; the local `watch` serves the function by its package name.
            let deployed = command.contains("events/reconcile/")
                || command.contains("<FunctionName")
                || command.contains("release-held");
            assert_eq!(
                remote,
                deployed,
                "{}: `{command}`: --remote for the deployed function, and only for it",
                name(&path)
            );
            if !remote {
                assert!(
                    command.contains("cargo lambda invoke merge-deprovision"),
                    "{}: `{command}` names the local function",
                    name(&path)
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "the documents' cargo lambda invoke commands");
}

#[test]
fn no_documented_command_puts_a_secret_on_its_command_line() {
    let mut checked = 0;
    for (path, text) in documents() {
        for command in commands(&text) {
            for (at, _) in command.match_indices("--secret-string") {
                let value = command[at + "--secret-string".len()..].trim_start();
                assert!(
                    value.starts_with("file://"),
                    "{}: `{command}`: the value from a file or standard input \
                     (file:///dev/stdin), never in the process list or the shell's history",
                    name(&path)
                );
                checked += 1;
            }
        }
    }
    // The signature key's, the Merge API's and the SCIM targets' secrets.
    assert!(checked >= 3, "{checked} secret commands");
    for (path, secret) in [
        ("README.md", "merge-deprovision/webhook-key"),
        ("docs/reconciliation.md", "merge-deprovision/merge-api"),
        ("docs/deprovisioning.md", "merge-deprovision/scim-targets"),
    ] {
        assert!(
            commands(&document(path))
                .iter()
                .any(|c| c.contains("create-secret") && c.contains(secret)),
            "{path} creates {secret}"
        );
    }
}
