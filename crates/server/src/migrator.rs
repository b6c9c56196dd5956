//! Every migration of the installation: the kernel's first, then each module's. Append-only.

use sea_orm_migration::{MigrationTrait, MigratorTrait};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = nexus_kernel::migrations::platform();
        all.extend(nexus_ai::migrations::all());
        all
    }
}
