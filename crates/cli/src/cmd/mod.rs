pub mod db;
pub mod demo_data;
pub mod ingest;
pub mod migrate;
pub mod recompute;
pub mod serve;
pub mod targets;
pub mod token;
