//! The store and its speed machinery, apart from the user stories: the database's
//! no-double-booking guarantee under races and random changes, the catalog cache and its
//! version triggers, the login cache and its notifications across nodes, and PostgreSQL's
//! grouped reads.

mod catalog_cache;
mod grouped_reads;
mod invariant;
mod login_cache;
