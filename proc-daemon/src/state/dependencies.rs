//! The start order: which subsystems run after which (`after = [...]`), resolved from names to
//! positions once when `run` starts, checked for unknown names and cycles, plus what each run of
//! an ordered subsystem needs at run time: its own cancellation token (its dependents stop
//! before it does), when that token was cancelled, and what it is waiting for.
//!
//! Built only when some subsystem declares a dependency; a daemon without any carries nothing.

use std::sync::{Arc, Mutex};
use tokio::time::Instant;

use tokio_util::sync::CancellationToken;

use super::SubsystemEntry;
use crate::Error;

/// The dependency graph of a daemon's subsystems, by position in its entries.
#[derive(Debug)]
pub(crate) struct Dependencies {
    /// What each subsystem runs after.
    after: Box<[Box<[usize]>]>,
    /// What runs after each subsystem (the reverse edges).
    before: Box<[Box<[usize]>]>,
    runs: Box<[Mutex<RunOrder>]>,
    /// Wakes whoever waits for a dependency to become ready, or a dependent to exit.
    pub(crate) changed: tokio::sync::Notify,
}

/// One subsystem's current run, as the ordering sees it.
#[derive(Debug, Default)]
struct RunOrder {
    token: CancellationToken,
    /// When its stop began (its token was cancelled by the shutdown sequence).
    stopping_since: Option<Instant>,
    /// The dependency it is waiting for, while it waits.
    waiting_for: Option<Arc<str>>,
    /// Its run is being stopped because a dependency restarts.
    restarting_for: Option<Arc<str>>,
}

impl Dependencies {
    /// Resolves every subsystem's `dependencies()`; `None` when none has any. An unknown name
    /// or a cycle is a configuration error naming it.
    pub(crate) fn resolve(entries: &[SubsystemEntry]) -> Result<Option<Self>, Error> {
        // Most daemons declare no order: found without collecting a list per subsystem.
        if entries
            .iter()
            .all(|entry| entry.subsystem.dependencies().is_empty())
        {
            return Ok(None);
        }
        let declared: Vec<Vec<String>> = entries
            .iter()
            .map(|entry| entry.subsystem.dependencies())
            .collect();
        let position = |name: &str| entries.iter().position(|entry| entry.name() == name);
        let mut after = Vec::with_capacity(entries.len());
        for (entry, names) in entries.iter().zip(&declared) {
            let mut resolved = Vec::with_capacity(names.len());
            for name in names {
                let Some(index) = position(name) else {
                    return Err(Error::config(format!(
                        "subsystem `{}` runs after `{name}`, which is not a subsystem of this daemon",
                        entry.name()
                    )));
                };
                if !resolved.contains(&index) {
                    resolved.push(index);
                }
            }
            after.push(resolved.into_boxed_slice());
        }
        if let Some(cycle) = find_cycle(&after) {
            let path: Vec<String> = cycle
                .iter()
                .map(|&index| format!("`{}`", entries[index].name()))
                .collect();
            return Err(Error::config(format!(
                "subsystems depend on each other in a cycle: {}",
                path.join(" → ")
            )));
        }
        let mut before = vec![Vec::new(); entries.len()];
        for (dependent, dependencies) in after.iter().enumerate() {
            for &dependency in dependencies {
                before[dependency].push(dependent);
            }
        }
        Ok(Some(Self {
            after: after.into_boxed_slice(),
            before: before.into_iter().map(Vec::into_boxed_slice).collect(),
            runs: entries.iter().map(|_| Mutex::default()).collect(),
            changed: tokio::sync::Notify::new(),
        }))
    }

    /// Whether `index` is in the order: one of the subsystems `run` started with (those added
    /// while it runs are not).
    pub(crate) fn covers(&self, index: usize) -> bool {
        index < self.runs.len()
    }

    /// The subsystems in the order, by position.
    pub(crate) fn covered<'a>(
        &self,
        entries: &'a super::Entries,
    ) -> impl Iterator<Item = &'a SubsystemEntry> {
        entries.iter().take(self.runs.len())
    }

    /// What `index` runs after.
    pub(crate) fn after(&self, index: usize) -> &[usize] {
        self.after.get(index).map_or(&[], |after| after)
    }

    /// What runs after `index`.
    pub(crate) fn before(&self, index: usize) -> &[usize] {
        self.before.get(index).map_or(&[], |before| before)
    }

    fn run(&self, index: usize) -> std::sync::MutexGuard<'_, RunOrder> {
        crate::lock::mutex(&self.runs[index])
    }

    fn read<R>(&self, index: usize, read: impl FnOnce(&RunOrder) -> R) -> Option<R> {
        self.runs
            .get(index)
            .map(|run| read(&crate::lock::mutex(run)))
    }

    /// The token of `index`'s current run.
    pub(crate) fn token(&self, index: usize) -> CancellationToken {
        self.run(index).token.clone()
    }

    /// A fresh token for `index`'s next run, unless its stop has begun.
    pub(crate) fn renew_token(&self, index: usize) {
        let mut run = self.run(index);
        if run.stopping_since.is_none() {
            run.token = CancellationToken::new();
        }
        run.restarting_for = None;
    }

    /// Begins `index`'s stop (once): its token is cancelled and the instant noted.
    pub(crate) fn begin_stop(&self, index: usize) -> bool {
        let mut run = self.run(index);
        if run.stopping_since.is_some() {
            return false;
        }
        run.stopping_since = Some(Instant::now());
        run.token.cancel();
        true
    }

    /// When `index`'s stop began, if it has.
    pub(crate) fn stopping_since(&self, index: usize) -> Option<Instant> {
        self.read(index, |run| run.stopping_since).flatten()
    }

    /// Stops `index`'s current run because `dependency` restarts.
    pub(crate) fn restart_for(&self, index: usize, dependency: &Arc<str>) {
        let mut run = self.run(index);
        run.restarting_for = Some(dependency.clone());
        run.token.cancel();
    }

    /// The dependency whose restart stopped `index`'s run, if one did.
    pub(crate) fn restarting_for(&self, index: usize) -> Option<Arc<str>> {
        self.read(index, |run| run.restarting_for.clone()).flatten()
    }

    pub(crate) fn set_waiting_for(&self, index: usize, dependency: Option<Arc<str>>) {
        self.run(index).waiting_for = dependency;
    }

    /// The dependency `index` waits for, while it waits.
    pub(crate) fn waiting_for(&self, index: usize) -> Option<Arc<str>> {
        self.read(index, |run| run.waiting_for.clone()).flatten()
    }
}

/// A cycle in `after` (the path, its first subsystem repeated at the end), if there is one.
fn find_cycle(after: &[Box<[usize]>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    fn visit(
        node: usize,
        after: &[Box<[usize]>],
        marks: &mut [Mark],
        path: &mut Vec<usize>,
    ) -> bool {
        marks[node] = Mark::OnPath;
        path.push(node);
        for &next in &after[node] {
            match marks[next] {
                Mark::OnPath => {
                    let start = path.iter().position(|&n| n == next).unwrap_or(0);
                    path.drain(..start);
                    path.push(next);
                    return true;
                }
                Mark::New => {
                    if visit(next, after, marks, path) {
                        return true;
                    }
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks[node] = Mark::Done;
        false
    }
    let mut marks = vec![Mark::New; after.len()];
    for node in 0..after.len() {
        let mut path = Vec::new();
        if marks[node] == Mark::New && visit(node, after, &mut marks, &mut path) {
            return Some(path);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SubsystemFn;

    fn entries(specs: &[(&'static str, &[&'static str])]) -> Vec<SubsystemEntry> {
        specs
            .iter()
            .map(|(name, after)| {
                let mut sub = SubsystemFn::new(*name, |_shutdown| async { Ok(()) });
                for dependency in *after {
                    sub = sub.after(*dependency);
                }
                SubsystemEntry::new(Box::new(sub), &crate::ShutdownHandle::new())
            })
            .collect()
    }

    #[test]
    fn no_dependencies_build_nothing() {
        assert!(
            Dependencies::resolve(&entries(&[("a", &[]), ("b", &[])]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn edges_are_resolved_both_ways() {
        let graph = Dependencies::resolve(&entries(&[
            ("api", &["db", "cache"]),
            ("db", &[]),
            ("cache", &["db"]),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(graph.after(0), [1, 2]);
        assert_eq!(graph.before(1), [0, 2]);
        assert_eq!(graph.before(2), [0]);
        assert!(graph.before(0).is_empty());
    }

    #[test]
    fn an_unknown_name_is_a_configuration_error() {
        let error = Dependencies::resolve(&entries(&[("api", &["dbx"])])).unwrap_err();
        assert_eq!(error.exit_code(), 78);
        assert_eq!(
            error.to_string(),
            "invalid configuration: subsystem `api` runs after `dbx`, which is not a subsystem of this daemon"
        );
    }

    #[test]
    fn a_cycle_is_named_in_order() {
        let error = Dependencies::resolve(&entries(&[
            ("log", &[]),
            ("a", &["b"]),
            ("b", &["c", "log"]),
            ("c", &["a"]),
        ]))
        .unwrap_err();
        assert_eq!(error.exit_code(), 78);
        assert_eq!(
            error.to_string(),
            "invalid configuration: subsystems depend on each other in a cycle: `a` → `b` → `c` → `a`"
        );
        let error = Dependencies::resolve(&entries(&[("self", &["self"])])).unwrap_err();
        assert!(error.to_string().ends_with("`self` → `self`"), "{error}");
    }
}
