import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A retry that takes an Idempotency-Key over records the plan of the attempt it replaces
 * (`earlier_at`): every attempt sharing the new plan first looks for that attempt's message.
 */
export class IdempotencyEarlierPlans1700000000006 implements MigrationInterface {
  name = 'IdempotencyEarlierPlans1700000000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE public.idempotency_keys ADD COLUMN IF NOT EXISTS earlier_at timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE public.idempotency_keys DROP COLUMN IF EXISTS earlier_at`);
  }
}
