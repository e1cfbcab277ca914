//! Plenum's integration tests: one binary (compiles once, links once), one module per
//! area. Each test drives the real `plenum` binary against its own temporary profile.

mod integration {
    mod at_rest;
    mod bad_input;
    mod crash;
    mod groups;
    mod import_export;
    mod keyring;
    mod lan;
    mod local_api;
    mod nat;
    mod net_flood;
    mod net_fork;
    mod net_harness;
    mod net_join_errors;
    mod net_loopback;
    mod net_offline_inviter;
    mod net_reconnect;
    mod net_removal;
    mod netns_lab;
    mod offline;
    mod relay_store;
}
