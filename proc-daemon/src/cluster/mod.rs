//! Replicas on several machines (`[cluster]`, feature `cluster`): one leader elected through
//! etcd, and the singleton subsystems that run only there.

pub(crate) mod election;
mod etcd;
