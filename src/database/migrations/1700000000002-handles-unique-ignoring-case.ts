import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Handles are unique ignoring case, as people read them: "Bayko" beside "bayko" would be an
 * impostor. The unique index on lower(handle) replaces the case-sensitive one and serves every
 * lookup by handle (`lower(handle) = lower($1)`).
 */
export class HandlesUniqueIgnoringCase1700000000002 implements MigrationInterface {
  name = 'HandlesUniqueIgnoringCase1700000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    // CREATE UNIQUE INDEX would fail on the first duplicate with a generic message: name them all first.
    const clashes = (await queryRunner.query(`
      SELECT array_agg(handle ORDER BY handle COLLATE "C") AS handles
      FROM public.users GROUP BY lower(handle) HAVING count(*) > 1 ORDER BY lower(handle) COLLATE "C"`)) as { handles: string[] }[];
    if (clashes.length) {
      const names = clashes.map((c) => c.handles.map((h) => JSON.stringify(h)).join(', ')).join('; ');
      throw new Error(
        `handles must be unique ignoring case, but these differ only in case: ${names} (rename all but one of each, then run the migrations again; README, Scripts)`,
      );
    }
    await queryRunner.query(`CREATE UNIQUE INDEX IF NOT EXISTS users_handle_lower_key ON public.users (lower(handle))`);
    await queryRunner.query(`DROP INDEX IF EXISTS public.users_handle_key`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE UNIQUE INDEX IF NOT EXISTS users_handle_key ON public.users (handle)`);
    await queryRunner.query(`DROP INDEX IF EXISTS public.users_handle_lower_key`);
  }
}
