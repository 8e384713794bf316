import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Remembers the response of each `Idempotency-Key` a user sent with POST /api/messages. */
export class CreateIdempotencyKeys1700000000001 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1700000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS public.idempotency_keys (
        user_uuid uuid NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        response jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_uuid, key)
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS idempotency_keys_created_at_idx ON public.idempotency_keys (created_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS public.idempotency_keys`);
  }
}
