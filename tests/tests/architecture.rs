//! The runtime crate's floor plan, checked: its file-level import graph has no cycle, the
//! ground floor (`state/`) imports no service, no runtime file outgrows one concept, and
//! `docs/ARCHITECTURE.md` names every file of `proc-daemon/src` and no file that is gone.
//!
//! Imports are read from the source text: `use` trees and inline `crate::`/`super::` paths,
//! each resolved to the file that *defines* the name (a re-export is followed, and counts as a
//! dependency of the re-exporting file only where that file's own code uses the name). Code
//! after a file's first top-level `#[cfg(test)]` is test code and is not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most lines of non-test code one file may hold.
const MAX_LINES: usize = 450;

/// What the ground floor may import: values with no daemon behind them.
const GROUND_FLOOR_MAY_IMPORT: &[&str] =
    &["state/", "subsystem/", "config/", "toolkit/", "error.rs"];

type Module = Vec<String>;

#[derive(Debug, Default)]
struct File {
    /// Relative to `proc-daemon/src`, with `/`.
    path: String,
    /// Non-test code, comments removed.
    code: String,
    /// Items this file defines.
    defines: BTreeSet<String>,
    /// `pub use` items: the name they are known by here, and the absolute path they name.
    reexports: BTreeMap<String, Module>,
    /// Absolute paths this file's code depends on.
    uses: Vec<Module>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../proc-daemon/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `state/entry.rs` is module `state::entry`; `state/mod.rs` is `state`; `lib.rs` the root.
fn module_of(relative: &str) -> Module {
    let mut parts: Vec<String> = relative
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The code before the first top-level `#[cfg(test)]`, without comment lines.
fn runtime_code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line == "#[cfg(test)]" {
            break;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        let line = line.split(" // ").next().unwrap_or(line);
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn tokens(code: &str) -> Vec<&str> {
    code.split(|c: char| !is_ident(c))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Expands a use tree (`a::{b, c::{d as e}}`, whitespace removed) into (path, local name).
fn expand(tree: &str, prefix: &[String], out: &mut Vec<(Module, String)>) {
    let tree = tree.trim_matches(',');
    if tree.is_empty() {
        return;
    }
    if let Some(open) = tree.find('{') {
        let head: Module = tree[..open]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let mut base = prefix.to_vec();
        base.extend(head);
        let inner = &tree[open + 1..tree.rfind('}').unwrap()];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], &base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &base, out);
        return;
    }
    let (path, alias) = match tree.split_once('@') {
        Some((path, alias)) => (path, Some(alias)),
        None => (tree, None),
    };
    let mut full = prefix.to_vec();
    full.extend(
        path.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    );
    if full.last().is_some_and(|s| s == "self") {
        full.pop();
    }
    let name = alias.map_or_else(|| full.last().cloned().unwrap_or_default(), str::to_owned);
    out.push((full, name));
}

/// Makes `path`, as written in `module`, absolute; `None` for other crates.
fn absolute(
    path: &[String],
    module: &Module,
    modules: &BTreeMap<Module, usize>,
    files: &[File],
) -> Option<Module> {
    let first = path.first()?;
    let mut base: Module = match first.as_str() {
        "crate" => Vec::new(),
        "super" => {
            let mut parent = module.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                parent.pop();
                rest = &rest[1..];
            }
            parent.extend(rest.iter().cloned());
            return Some(parent);
        }
        "self" => module.clone(),
        _ => {
            // Edition 2018+: a path may start with a module or item of the current module.
            let mut child = module.clone();
            child.push(first.clone());
            let here = &files[modules[module]];
            if modules.contains_key(&child)
                || here.defines.contains(first)
                || here.reexports.contains_key(first)
            {
                let mut full = module.clone();
                full.extend(path.iter().cloned());
                return Some(full);
            }
            return None;
        }
    };
    base.extend(path[1..].iter().cloned());
    Some(base)
}

/// The file that defines what `path` names.
fn resolve(
    path: &[String],
    modules: &BTreeMap<Module, usize>,
    files: &[File],
    depth: usize,
) -> Option<usize> {
    if depth > 16 {
        return None;
    }
    let mut module: Module = Vec::new();
    for (i, segment) in path.iter().enumerate() {
        let mut child = module.clone();
        child.push(segment.clone());
        if modules.contains_key(&child) {
            module = child;
            continue;
        }
        let file = &files[modules[&module]];
        if file.defines.contains(segment) {
            return Some(modules[&module]);
        }
        if let Some(target) = file.reexports.get(segment) {
            let mut next = target.clone();
            next.extend(path[i + 1..].iter().cloned());
            return resolve(&next, modules, files, depth + 1).or(Some(modules[&module]));
        }
        return Some(modules[&module]);
    }
    modules.get(&module).copied()
}

/// One `use` statement: its file, whether it is `pub`, the module it is in, its items.
type UseStatement = (usize, bool, Module, Vec<(Module, String)>);

struct Crate {
    files: Vec<File>,
    modules: BTreeMap<Module, usize>,
}

fn read_crate() -> Crate {
    let root = src();
    let mut paths = Vec::new();
    rust_files(&root, &mut paths);
    paths.sort();
    let mut files = Vec::new();
    let mut modules = BTreeMap::new();
    let mut use_trees = Vec::new();
    for path in &paths {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(path).unwrap();
        let code = runtime_code(&text);
        let mut file = File {
            path: relative.clone(),
            ..File::default()
        };
        let words = tokens(&code);
        for pair in words.windows(2) {
            if matches!(
                pair[0],
                "struct" | "enum" | "trait" | "fn" | "type" | "const" | "static" | "union"
            ) {
                file.defines.insert(pair[1].to_owned());
            }
        }
        // `macro_rules! name` and `mod name { .. }` blocks (facade modules of lib.rs).
        for (at, _) in code.match_indices("macro_rules!") {
            if let Some(name) = tokens(&code[at + 12..]).first() {
                file.defines.insert((*name).to_owned());
            }
        }
        let mut statements = Vec::new();
        let mut inline_module: Option<String> = None;
        let mut pending = String::new();
        for line in code.lines() {
            let trimmed = line.trim();
            if pending.is_empty() {
                if let Some(rest) = trimmed
                    .strip_prefix("pub mod ")
                    .filter(|r| r.ends_with('{'))
                {
                    inline_module = Some(rest.trim_end_matches('{').trim().to_owned());
                    continue;
                }
                if inline_module.is_some() && trimmed == "}" {
                    inline_module = None;
                    continue;
                }
                let public = trimmed.starts_with("pub ") || trimmed.starts_with("pub(");
                let Some(at) = trimmed.find("use ") else {
                    continue;
                };
                let before = &trimmed[..at];
                if !(before.is_empty() || before.ends_with(") ") || before == "pub ") {
                    continue;
                }
                pending = format!(
                    "{}|{}|",
                    u8::from(public),
                    inline_module.clone().unwrap_or_default()
                );
                pending.push_str(&trimmed[at + 4..]);
            } else {
                pending.push_str(trimmed);
            }
            if pending.ends_with(';') {
                statements.push(std::mem::take(&mut pending));
            }
        }
        let module = module_of(&relative);
        modules.insert(module.clone(), files.len());
        use_trees.push((module, statements));
        files.push(file);
    }
    // Modules declared inline (`pub mod signal { pub use ...; }` in lib.rs, `pub mod chan {..}`).
    for index in 0..use_trees.len() {
        let (module, statements) = &use_trees[index];
        for statement in statements {
            let inline = statement.split('|').nth(1).unwrap_or_default();
            let mut inner = module.clone();
            inner.push(inline.to_owned());
            if !inline.is_empty() && !modules.contains_key(&inner) {
                modules.insert(inner, files.len());
                files.push(File {
                    path: format!("{}#{inline}", files[index].path),
                    ..File::default()
                });
            }
        }
    }
    // Re-exports first (resolution follows them), then dependencies.
    let mut expanded: Vec<UseStatement> = Vec::new();
    for (module, statements) in &use_trees {
        for statement in statements {
            let mut parts = statement.splitn(3, '|');
            let public = parts.next() == Some("1");
            let inline = parts.next().unwrap_or_default();
            let tree: String = parts
                .next()
                .unwrap_or_default()
                .trim_end_matches(';')
                .replace(" as ", "@")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let mut owner_module = module.clone();
            if !inline.is_empty() {
                owner_module.push(inline.to_owned());
            }
            let mut items = Vec::new();
            expand(&tree, &[], &mut items);
            let Some(&owner) = modules.get(&owner_module) else {
                panic!("no module {owner_module:?} for `{statement}`");
            };
            expanded.push((owner, public, owner_module, items));
        }
    }
    for (owner, public, owner_module, items) in &expanded {
        for (path, name) in items {
            // Relative paths need the owner's definitions, so they are made absolute later.
            if *public && let Some(full) = absolute(path, owner_module, &modules, &files) {
                files[*owner].reexports.insert(name.clone(), full);
            }
        }
    }
    for (owner, public, owner_module, items) in &expanded {
        let code = files[*owner].code.clone();
        let code_tokens = tokens(&code);
        for (path, name) in items {
            let Some(full) = absolute(path, owner_module, &modules, &files) else {
                continue;
            };
            // A re-export is a dependency only where this file's code uses the name itself
            // (every name of a `use` line is also a token of the code: count beyond that one).
            if *public && code_tokens.iter().filter(|t| **t == name.as_str()).count() <= 1 {
                continue;
            }
            files[*owner].uses.push(full);
        }
    }
    // Inline paths in code: `crate::a::b(..)`, `super::c::d`.
    for index in 0..files.len() {
        let module = module_of(&files[index].path);
        let code = files[index].code.clone();
        for start in ["crate::", "super::"] {
            for (at, _) in code.match_indices(start) {
                if at > 0
                    && (is_ident(code[..at].chars().last().unwrap()) || code[..at].ends_with("::"))
                {
                    continue;
                }
                let rest = &code[at..];
                let end = rest
                    .find(|c: char| !(is_ident(c) || c == ':'))
                    .unwrap_or(rest.len());
                let path: Module = rest[..end]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                if path.first().is_some_and(|s| s == "crate")
                    && path.get(1).is_some_and(|s| s == "__private")
                {
                    continue;
                }
                if let Some(full) = absolute(&path, &module, &modules, &files) {
                    files[index].uses.push(full);
                }
            }
        }
    }
    Crate { files, modules }
}

impl Crate {
    /// File index → the files it depends on.
    fn graph(&self) -> Vec<BTreeSet<usize>> {
        self.files
            .iter()
            .enumerate()
            .map(|(index, file)| {
                file.uses
                    .iter()
                    .filter_map(|path| resolve(path, &self.modules, &self.files, 0))
                    .filter(|&target| target != index && !self.files[target].path.contains('#'))
                    .collect()
            })
            .collect()
    }
}

/// A cycle of the graph, as file paths, if there is one.
fn find_cycle(files: &[File], graph: &[BTreeSet<usize>]) -> Option<Vec<String>> {
    fn visit(
        node: usize,
        graph: &[BTreeSet<usize>],
        colour: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        colour[node] = 1;
        stack.push(node);
        for &next in &graph[node] {
            if colour[next] == 1 {
                let from = stack.iter().position(|&n| n == next).unwrap();
                let mut cycle = stack[from..].to_vec();
                cycle.push(next);
                return Some(cycle);
            }
            if colour[next] == 0
                && let Some(cycle) = visit(next, graph, colour, stack)
            {
                return Some(cycle);
            }
        }
        stack.pop();
        colour[node] = 2;
        None
    }
    let mut colour = vec![0u8; graph.len()];
    for node in 0..graph.len() {
        if colour[node] == 0
            && let Some(cycle) = visit(node, graph, &mut colour, &mut Vec::new())
        {
            return Some(cycle.into_iter().map(|n| files[n].path.clone()).collect());
        }
    }
    None
}

#[test]
fn the_import_graph_has_no_cycle() {
    let krate = read_crate();
    let graph = krate.graph();
    let edges: usize = graph.iter().map(BTreeSet::len).sum();
    assert!(
        edges > 100,
        "the reader found only {edges} imports; it is broken"
    );
    if let Some(cycle) = find_cycle(&krate.files, &graph) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_reader_sees_a_cycle_when_there_is_one() {
    // A two-file cycle written the way this crate writes imports: a parent module using an
    // item of its child that uses the parent's.
    let files = vec![
        File {
            path: "a/mod.rs".into(),
            ..File::default()
        },
        File {
            path: "a/b.rs".into(),
            ..File::default()
        },
    ];
    let graph = vec![BTreeSet::from([1]), BTreeSet::from([0])];
    assert_eq!(
        find_cycle(&files, &graph).unwrap(),
        ["a/mod.rs", "a/b.rs", "a/mod.rs"]
    );
    let mut items = Vec::new();
    expand(
        "crate::{state::{Shared,ShutdownReason},process::signal::{self@x}}",
        &[],
        &mut items,
    );
    let paths: Vec<String> = items
        .iter()
        .map(|(p, n)| format!("{}={n}", p.join("::")))
        .collect();
    assert_eq!(
        paths,
        [
            "crate::state::Shared=Shared",
            "crate::state::ShutdownReason=ShutdownReason",
            "crate::process::signal=x"
        ]
    );
}

#[test]
fn the_ground_floor_imports_no_service() {
    let krate = read_crate();
    let graph = krate.graph();
    for (index, file) in krate.files.iter().enumerate() {
        if !file.path.starts_with("state/") {
            continue;
        }
        for &target in &graph[index] {
            let target = &krate.files[target].path;
            assert!(
                GROUND_FLOOR_MAY_IMPORT
                    .iter()
                    .any(|allowed| target.starts_with(allowed)),
                "{} (ground floor) imports {target}",
                file.path
            );
        }
    }
}

#[test]
fn no_runtime_file_outgrows_one_concept() {
    for file in read_crate().files.iter().filter(|f| !f.path.contains('#')) {
        let lines = file.code.lines().count();
        assert!(
            lines <= MAX_LINES,
            "{} has {lines} lines of code (at most {MAX_LINES}): split it by concept",
            file.path
        );
    }
}

#[test]
fn the_architecture_document_names_every_file() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/ARCHITECTURE.md"),
    )
    .unwrap();
    let krate = read_crate();
    let named: BTreeSet<&str> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.ends_with(".rs") && !s.contains(' '))
        .collect();
    for file in krate.files.iter().filter(|f| !f.path.contains('#')) {
        // Named whole, or by its path inside a folder the document names (`state/` ... `mod.rs`).
        let top = file
            .path
            .split_once('/')
            .map(|(top, _)| format!("`{top}/`"));
        let found = named.iter().any(|name| {
            *name == file.path
                || (file.path.ends_with(&format!("/{name}"))
                    && top.as_ref().is_some_and(|top| doc.contains(top.as_str())))
        });
        assert!(found, "docs/ARCHITECTURE.md does not name {}", file.path);
    }
    for name in named.iter().filter(|n| !n.starts_with("tests/")) {
        assert!(
            krate
                .files
                .iter()
                .any(|f| f.path == *name || f.path.ends_with(&format!("/{name}"))),
            "docs/ARCHITECTURE.md names `{name}`, which is not in proc-daemon/src"
        );
    }
}
