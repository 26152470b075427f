/**
 * Advisory lock keys of the store, in one place. The two-integer form
 * `(ALBATROSS_LOCK_CLASS, n)` keeps them apart from any other advisory lock
 * an application on the same database takes.
 */
export const ALBATROSS_LOCK_CLASS = 0x41_4c_42; // "ALB"

/** Held (transaction-scoped) by every append: positions are taken and committed in one order. */
export const APPEND_LOCK = 1;
/** Held (transaction-scoped) while migrations run, so two nodes starting together do not race. */
export const MIGRATION_LOCK = 2;

/** SQL expression of the session lock that makes one worker own a projection (`$1` = projection name). */
export const PROJECTION_LOCK_SQL = `hashtextextended('albatross.projection:' || $1, 0)`;
