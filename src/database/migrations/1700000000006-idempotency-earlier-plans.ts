import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A retry that takes an Idempotency-Key over records the plan of the attempt it replaces
 * (`earlier_ats`, every one so far): the attempts of the new plan first look for those messages.
 * `shared`: another attempt joined the plan, so a refused owner leaves the key to it.
 */
export class IdempotencyEarlierPlans1700000000006 implements MigrationInterface {
  name = 'IdempotencyEarlierPlans1700000000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE public.idempotency_keys ADD COLUMN IF NOT EXISTS earlier_ats timestamptz[] NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`ALTER TABLE public.idempotency_keys ADD COLUMN IF NOT EXISTS shared boolean NOT NULL DEFAULT false`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE public.idempotency_keys DROP COLUMN IF EXISTS shared`);
    await queryRunner.query(`ALTER TABLE public.idempotency_keys DROP COLUMN IF EXISTS earlier_ats`);
  }
}
