//! Profiling a running daemon: CPU profiles in pprof's format (feature `profiling`) and heap
//! profiles with dhat (feature `heap-profiling`).

#[cfg(feature = "profiling")]
mod cpu;
#[cfg(feature = "heap-profiling")]
pub mod heap;

#[cfg(feature = "profiling")]
pub use cpu::CpuProfiler;
