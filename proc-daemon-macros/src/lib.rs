//! Attribute macros for proc-daemon.
