#![allow(clippy::unwrap_used)]
#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").unwrap();
    let db = funkplan_db::Db::connect(&url, &funkplan_db::PoolOptions::default()).await.unwrap();
    let l = funkplan_api::bind("127.0.0.1:18432".parse().unwrap()).await.unwrap();
    funkplan_api::serve(l, funkplan_api::AppState::new(db)).await.unwrap();
}
