pub mod db;
pub mod migrate;
pub mod serve;
pub mod targets;
