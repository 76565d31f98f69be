//! The subsystems of a daemon, by stable position: those it starts with, fixed in one
//! contiguous allocation when `run` starts, then those added while it runs, appended to a
//! concurrent vector that never moves what it holds. Supervisors, status and the stop refer to
//! a subsystem by its position; a removed one keeps its place (marked removed), so positions
//! never change.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rapidhash::fast::RandomState;
use std::sync::{Mutex, OnceLock};

use super::SubsystemEntry;

/// Present subsystems' names to their positions.
type NameIndex = HashMap<Box<str>, usize, RandomState>;

/// Every subsystem of one daemon's run, by position.
#[derive(Debug, Default)]
pub(crate) struct Entries {
    initial: OnceLock<Box<[SubsystemEntry]>>,
    added: boxcar::Vec<SubsystemEntry>,
    /// Names of present subsystems to positions, built at the first change at run time (a
    /// daemon whose set never changes carries none); its lock also serialises the changes.
    names: Mutex<Option<NameIndex>>,
}

impl Entries {
    /// Fixes the subsystems `run` starts with (once).
    pub(crate) fn freeze(&self, registered: Vec<SubsystemEntry>) -> &[SubsystemEntry] {
        self.initial.get_or_init(|| registered.into_boxed_slice())
    }

    /// Whether `run` has fixed its starting set.
    pub(crate) fn is_frozen(&self) -> bool {
        self.initial.get().is_some()
    }

    /// The subsystems `run` started with.
    pub(crate) fn initial(&self) -> &[SubsystemEntry] {
        self.initial.get().map_or(&[], |entries| entries)
    }

    /// How many positions there are, removed subsystems included.
    pub(crate) fn len(&self) -> usize {
        self.initial().len() + self.added.count()
    }

    /// The subsystem at `index`.
    pub(crate) fn get(&self, index: usize) -> Option<&SubsystemEntry> {
        let initial = self.initial();
        match index.checked_sub(initial.len()) {
            None => initial.get(index),
            Some(added) => self.added.get(added),
        }
    }

    /// Every position in order, removed subsystems included.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &SubsystemEntry> {
        self.initial()
            .iter()
            .chain(self.added.iter().map(|(_, entry)| entry))
    }

    /// Runs `change` with the name index (built on first use from the present subsystems) and
    /// a way to append; one change at a time.
    pub(crate) fn change<R>(&self, change: impl FnOnce(&mut Names<'_>) -> R) -> R {
        let mut names = crate::lock::mutex(&self.names);
        let index = names.get_or_insert_with(|| {
            self.iter()
                .enumerate()
                .filter(|(_, entry)| !entry.is_removed())
                .map(|(position, entry)| (Box::from(entry.name()), position))
                .collect()
        });
        change(&mut Names {
            entries: self,
            index,
        })
    }
}

impl std::ops::Index<usize> for Entries {
    type Output = SubsystemEntry;

    fn index(&self, index: usize) -> &SubsystemEntry {
        self.get(index)
            .unwrap_or_else(|| panic!("no subsystem at position {index}"))
    }
}

/// The present subsystems by name, while a change holds them.
#[derive(Debug)]
pub(crate) struct Names<'a> {
    entries: &'a Entries,
    index: &'a mut NameIndex,
}

impl Names<'_> {
    /// The position of the present subsystem named `name`.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// Appends `entry` under its name, unless a present subsystem has that name (then `entry`
    /// comes back); its position. One look-up in the index: at 100 000 names each probe is a
    /// cache miss.
    pub(crate) fn push_unique(&mut self, entry: SubsystemEntry) -> Result<usize, SubsystemEntry> {
        match self.index.entry(entry.name().into()) {
            Entry::Occupied(_) => Err(entry),
            Entry::Vacant(slot) => {
                let position = self.entries.initial().len() + self.entries.added.push(entry);
                slot.insert(position);
                Ok(position)
            }
        }
    }

    /// Forgets the name of a removed subsystem (it may be added again).
    pub(crate) fn forget(&mut self, name: &str) {
        self.index.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ShutdownHandle, SubsystemFn};

    fn entry(name: &str) -> SubsystemEntry {
        SubsystemEntry::new(
            Box::new(SubsystemFn::new(name.to_owned(), |_shutdown| async {
                Ok(())
            })),
            &ShutdownHandle::new(),
        )
    }

    #[test]
    fn positions_run_on_from_the_initial_set_and_never_move() {
        let entries = Entries::default();
        entries.freeze(vec![entry("a"), entry("b")]);
        let first = &entries[1] as *const SubsystemEntry;
        let position = entries.change(|names| {
            assert_eq!(names.position("b"), Some(1));
            names.push_unique(entry("c")).unwrap()
        });
        assert_eq!(position, 2);
        for name in 0..100 {
            let name = format!("x{name}");
            entries.change(|names| names.push_unique(entry(&name)).unwrap());
        }
        assert_eq!(entries.len(), 103);
        assert_eq!(entries[2].name(), "c");
        assert!(std::ptr::eq(first, &entries[1]));
        let names: Vec<&str> = entries.iter().take(3).map(SubsystemEntry::name).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(entries.get(103).is_none());
    }

    #[test]
    fn a_present_name_is_refused_and_a_forgotten_one_can_be_used_again() {
        let entries = Entries::default();
        entries.freeze(vec![entry("a")]);
        entries.change(|names| {
            names.forget("a");
            assert_eq!(names.position("a"), None);
            assert!(names.push_unique(entry("b")).is_ok());
            assert!(
                names.push_unique(entry("b")).is_err(),
                "a present name is refused"
            );
            assert_eq!(names.push_unique(entry("a")).unwrap(), 2);
            assert_eq!(names.position("a"), Some(2));
        });
    }
}
