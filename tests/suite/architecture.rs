//! ARCHITECTURE.md is true: its module map lists every source file (and nothing that does not
//! exist), and its dependency table is exactly the set of arrows the code has. A new `use` of a
//! module the table does not allow fails here, naming the file; so does a row that claims an
//! arrow no code uses, and a table with a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::support::repo;

/// The packages on top of the library, as the table names them, and where their code is.
const PACKAGES: &[(&str, &str)] = &[("installer", "installer/src"), ("cli", "cli/src")];

/// The table between the dependency-rule markers: row name -> the names it uses.
fn rule() -> BTreeMap<String, BTreeSet<String>> {
    let text = read(&repo().join("ARCHITECTURE.md"));
    let begin = text
        .find("<!-- dependency-rule:begin -->")
        .expect("ARCHITECTURE.md has the dependency-rule markers");
    let end = text
        .find("<!-- dependency-rule:end -->")
        .expect("ARCHITECTURE.md has the dependency-rule end marker");
    let mut rows = BTreeMap::new();
    for line in text[begin..end].lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, uses) = (cells[1].trim_matches('`'), cells[2]);
        if name == "module" || name.starts_with("---") {
            continue;
        }
        let uses = uses
            .split(',')
            .map(|u| u.trim().trim_matches('`').to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        assert!(
            rows.insert(name.to_owned(), uses).is_none(),
            "{name} has two rows"
        );
    }
    rows
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Test code: a `tests.rs` beside a module, anything under a `tests/` folder of a module, and
/// the store's test support. Tests may reach further than the code they test.
fn is_test_file(relative: &Path) -> bool {
    relative.ends_with("tests.rs")
        || relative.ends_with("store/testing.rs")
        || relative.components().any(|c| c.as_os_str() == "tests")
}

/// The code of a file without its comments and its trailing `#[cfg(test)] mod tests { ... }`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names that follow `prefix` (`crate::` or `fedbridge::`), with their line numbers.
fn references(code: &str, prefix: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a::X, b}`: the first segment of each item.
                let inner = group.split('}').next().unwrap_or_default();
                for item in inner.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.push((name, number + 1));
                    }
                }
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((name, number + 1));
            }
        }
    }
    found
}

/// The modules `src/lib.rs` declares.
fn library_modules() -> BTreeSet<String> {
    read(&repo().join("src/lib.rs"))
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_owned())
        .collect()
}

/// Every arrow of the code: (from, to) -> the first place that makes it.
fn arrows() -> BTreeMap<(String, String), String> {
    let repo = repo();
    let modules = library_modules();
    let mut arrows = BTreeMap::new();
    let src = repo.join("src");
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        if is_test_file(relative) || relative == Path::new("lib.rs") {
            continue;
        }
        let from = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        for (to, line) in references(&code_of(&read(&file)), "crate::") {
            if to != from && modules.contains(&to) {
                arrows
                    .entry((from.clone(), to))
                    .or_insert_with(|| format!("src/{}:{line}", relative.display()));
            }
        }
    }
    for (package, dir) in PACKAGES {
        let root = repo.join(dir);
        for file in rust_files(&root) {
            let relative = file.strip_prefix(&repo).unwrap();
            if is_test_file(file.strip_prefix(&root).unwrap()) {
                continue;
            }
            let code = code_of(&read(&file));
            let mut uses = references(&code, "fedbridge::");
            uses.extend(
                references(&code, "fedbridge_installer::")
                    .into_iter()
                    .map(|(_, line)| ("installer".to_owned(), line)),
            );
            for (to, line) in uses {
                arrows
                    .entry(((*package).to_owned(), to))
                    .or_insert_with(|| format!("{}:{line}", relative.display()));
            }
        }
    }
    arrows
}

#[test]
fn every_arrow_of_the_code_is_in_the_dependency_table_of_architecture_md() {
    let rule = rule();
    let forbidden: Vec<String> = arrows()
        .into_iter()
        .filter(|((from, to), _)| !rule.get(from).is_some_and(|uses| uses.contains(to)))
        .map(|((from, to), place)| format!("{from} -> {to} ({place})"))
        .collect();
    assert!(
        forbidden.is_empty(),
        "arrows that ARCHITECTURE.md's dependency rule does not allow (move the code, or change \
         the rule and say why):\n  {}",
        forbidden.join("\n  ")
    );
}

#[test]
fn every_arrow_of_the_dependency_table_is_used_by_the_code() {
    let arrows = arrows();
    let unused: Vec<String> = rule()
        .into_iter()
        .flat_map(|(from, uses)| uses.into_iter().map(move |to| (from.clone(), to)))
        .filter(|arrow| !arrows.contains_key(arrow))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(
        unused.is_empty(),
        "ARCHITECTURE.md allows arrows no code uses (remove them from the table):\n  {}",
        unused.join("\n  ")
    );
}

#[test]
fn the_dependency_table_names_every_module_once_and_has_no_cycle() {
    let rule = rule();
    let mut expected = library_modules();
    expected.extend(PACKAGES.iter().map(|(name, _)| (*name).to_owned()));
    let named: BTreeSet<String> = rule.keys().cloned().collect();
    assert_eq!(named, expected, "one row per library module and package");
    // Each row may only name rows above it: a cycle is impossible then.
    let order: Vec<&String> = {
        let text = read(&repo().join("ARCHITECTURE.md"));
        let mut order: Vec<(usize, &String)> = rule
            .keys()
            .map(|name| {
                let row = format!("| `{name}` |");
                let plain = format!("| {name} |");
                let at = text.find(&row).or_else(|| text.find(&plain)).unwrap();
                (at, name)
            })
            .collect();
        order.sort();
        order.into_iter().map(|(_, name)| name).collect()
    };
    for (position, name) in order.iter().enumerate() {
        for used in &rule[*name] {
            let above = order[..position].contains(&used);
            assert!(above, "{name} uses {used}, which is not a row above it");
        }
    }
}

/// The paths of the module map: folders end with `/`; nesting by two spaces of indentation;
/// continuation lines of a description are indented deeper and ignored.
fn module_map() -> BTreeSet<String> {
    let text = read(&repo().join("ARCHITECTURE.md"));
    let start = text.find("## Module map").expect("a module map section");
    let block = &text[start..];
    let open = block.find("```\n").unwrap() + 4;
    let close = open + block[open..].find("```").unwrap();
    let mut paths = BTreeSet::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for line in block[open..close].lines() {
        let indent = line.len() - line.trim_start().len();
        let Some(token) = line.split_whitespace().next() else {
            continue;
        };
        let is_entry = indent <= 10
            && indent % 2 == 0
            && (token.ends_with('/') || token.contains('.'))
            && token
                .chars()
                .all(|c| c.is_alphanumeric() || "_./-".contains(c));
        if !is_entry {
            continue;
        }
        while stack.last().is_some_and(|(depth, _)| *depth >= indent) {
            stack.pop();
        }
        let parent = stack.last().map(|(_, p)| p.as_str()).unwrap_or_default();
        let path = format!("{parent}{token}");
        if token.ends_with('/') {
            stack.push((indent, path.clone()));
        }
        paths.insert(path);
    }
    paths
}

#[test]
fn the_module_map_lists_every_source_file_and_only_files_that_exist() {
    let map = module_map();
    let repo = repo();
    let missing: Vec<&String> = map
        .iter()
        .filter(|p| !repo.join(p.as_str()).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's module map lists paths that do not exist: {missing:?}"
    );
    let mut unlisted = Vec::new();
    for dir in ["src", "cli/src", "installer/src"] {
        let root = repo.join(dir);
        for file in rust_files(&root) {
            if is_test_file(file.strip_prefix(&root).unwrap()) {
                continue;
            }
            let relative = file.strip_prefix(&repo).unwrap().display().to_string();
            if !map.contains(&relative) {
                unlisted.push(relative);
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "source files missing from ARCHITECTURE.md's module map: {unlisted:?}"
    );
}

#[test]
fn the_reference_scanner_sees_grouped_and_qualified_uses_but_not_comments() {
    let code = code_of(
        "use crate::{config::Config, store};\n// crate::web is prose\nlet x = crate::token::sign(y);\n\
         fn f() { not_crate::saml(); }\n#[cfg(test)]\nmod tests {\n use crate::demo;\n}\n",
    );
    let names: Vec<String> = references(&code, "crate::")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["config", "store", "token"]);
}
