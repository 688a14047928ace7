//! Local-to-standard mapping (issue 6), first part: the review workflow's rules and the local
//! code lists hospitals upload. Storage, candidates, translation and export build on these.

pub mod candidates;
pub mod exchange;
pub mod local_codes;
pub mod state;
