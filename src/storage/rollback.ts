/**
 * An object that keeps in memory what it knows of its tables (counts kept as rows change, the
 * timers it set) must forget it when a transaction that changed them is rolled back, or it
 * goes on believing in rows that are not there. Every transactionSync of this storage goes
 * through here; one that throws calls `forget` before the error goes on.
 */
export function forgetOnRollback(storage: DurableObjectStorage, forget: () => void): void {
  const run = storage.transactionSync.bind(storage);
  storage.transactionSync = <T>(closure: () => T): T => {
    try {
      return run(closure);
    } catch (err) {
      forget();
      throw err;
    }
  };
}
