import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An Idempotency-Key's attempt holds a lease while it runs (`locked_until`): a retry during the
 * lease shares its write plan; a retry after it (the attempt ended without storing an answer)
 * checks what was written and plans anew.
 */
export class LockIdempotencyKeys1700000000005 implements MigrationInterface {
  name = 'LockIdempotencyKeys1700000000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE public.idempotency_keys ADD COLUMN IF NOT EXISTS locked_until timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE public.idempotency_keys DROP COLUMN IF EXISTS locked_until`);
  }
}
