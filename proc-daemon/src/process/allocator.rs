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

/// Reserves `bytes` of address space for the allocator up front (`performance.memory_pool_size`):
/// mimalloc serves allocations from the reserved area before asking the kernel again. The memory
/// is not committed until used.
///
/// # Errors
/// Why not: the allocator in use cannot reserve (a build without `mimalloc`), or the reservation
/// failed (the error code).
pub(crate) fn reserve(bytes: u64) -> Result<(), String> {
    #[cfg(all(feature = "mimalloc", not(feature = "heap-profiling")))]
    {
        let size = usize::try_from(bytes)
            .map_err(|_| format!("{bytes} bytes do not fit the address space"))?;
        // SAFETY: reserves address space; a null arena id asks for none back.
        let code = unsafe {
            libmimalloc_sys::mi_reserve_os_memory_ex(size, false, true, false, std::ptr::null_mut())
        };
        if code == 0 {
            Ok(())
        } else {
            Err(format!(
                "mimalloc could not reserve {bytes} bytes (error {code})"
            ))
        }
    }
    #[cfg(not(all(feature = "mimalloc", not(feature = "heap-profiling"))))]
    {
        let _ = bytes;
        Err("reserving memory needs proc-daemon's `mimalloc` feature (the system allocator has no reservation)".to_owned())
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

    #[test]
    fn a_memory_pool_is_reserved_and_then_serves_allocations() {
        // The call reaches mimalloc: an impossible reservation is refused, with its code.
        let err = super::reserve(1 << 62).unwrap_err();
        assert!(err.starts_with("mimalloc could not reserve"), "{err}");
        super::reserve(64 << 20).unwrap();
        let big = vec![1u8; 16 << 20];
        // SAFETY: mi_is_in_heap_region only compares the pointer with mimalloc's regions.
        assert!(unsafe { libmimalloc_sys::mi_is_in_heap_region(big.as_ptr().cast()) });
    }
}
