//! The global allocator a feature asks for: `mimalloc` installs mimalloc, `heap-profiling`
//! installs dhat's counting allocator (which passes allocations through to the system
//! allocator and records them only while a `profiling::heap::HeapProfiler` runs). A program
//! has one global allocator, so the two features exclude each other, and an application that
//! enables either must not declare its own `#[global_allocator]` (rustc reports the conflict).
//! `#[daemon]` needs nothing more: the allocator is in place before `main` runs.

#[cfg(all(feature = "mimalloc", feature = "heap-profiling"))]
compile_error!(
    "proc-daemon: the `mimalloc` and `heap-profiling` features each install a global allocator; \
     enable one of them (heap profiles describe the allocator in use, so profile with the \
     system allocator)"
);

#[cfg(all(feature = "mimalloc", not(feature = "heap-profiling")))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(all(feature = "heap-profiling", not(feature = "mimalloc")))]
#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

/// The name of the global allocator this crate installed: `"mimalloc"`, `"dhat"`, or
/// `"system"` when it installed none. Shown in `status` (admin endpoint and control socket).
#[must_use]
pub const fn name() -> &'static str {
    if cfg!(feature = "mimalloc") {
        "mimalloc"
    } else if cfg!(feature = "heap-profiling") {
        "dhat"
    } else {
        "system"
    }
}

#[cfg(all(test, feature = "mimalloc"))]
mod tests {
    #[test]
    fn allocations_come_from_mimalloc() {
        let boxed = Box::new([7u8; 4096]);
        let vec: Vec<u64> = (0..10_000).collect();
        // SAFETY: mi_is_in_heap_region only compares the pointer with mimalloc's regions.
        unsafe {
            assert!(libmimalloc_sys::mi_is_in_heap_region(boxed.as_ptr().cast()));
            assert!(libmimalloc_sys::mi_is_in_heap_region(vec.as_ptr().cast()));
        }
    }
}
