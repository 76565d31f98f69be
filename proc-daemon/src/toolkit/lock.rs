//! Locks that survive a panic. A thread that panics while holding a `std` lock poisons it, and
//! every later `lock().unwrap()` panics too; a daemon must keep serving instead. These helpers
//! take the lock whatever happened: the data is whatever the panicking thread left, which for
//! the framework's own state (counters, lists, flags) is always consistent.
//!
//! ```
//! use std::sync::{Mutex, RwLock};
//! use proc_daemon::lock;
//!
//! let counter = Mutex::new(0);
//! let _ = std::thread::scope(|s| s.spawn(|| {
//!     let _held = lock::mutex(&counter);
//!     panic!("poisons the mutex");
//! }).join());
//! *lock::mutex(&counter) += 1; // still usable
//! assert_eq!(*lock::mutex(&counter), 1);
//!
//! let table = RwLock::new(vec![1]);
//! lock::write(&table).push(2);
//! assert_eq!(*lock::read(&table), [1, 2]);
//! ```

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `mutex`, poisoned or not.
pub fn mutex<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Takes `lock` for reading, poisoned or not.
pub fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Takes `lock` for writing, poisoned or not.
pub fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
