use crate::store::migration_lists;

#[test]
fn both_backends_carry_the_same_migrations() {
    let [sqlite, postgres] = migration_lists();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}
