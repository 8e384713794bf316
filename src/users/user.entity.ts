import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * A Cruddur user (`public.users`); `cognito_user_id` is the Cognito `sub`. Handles are unique
 * ignoring case (an index on lower(handle), made by a migration: TypeORM cannot declare one).
 */
@Entity({ name: 'users', schema: 'public' })
@Index('users_handle_lower_key', { synchronize: false })
export class User {
  @PrimaryGeneratedColumn('uuid')
  uuid: string;

  @Column('text')
  display_name: string;

  @Column('text')
  handle: string;

  @Column('text')
  email: string;

  @Index('users_cognito_user_id_idx')
  @Column('text', { nullable: true })
  cognito_user_id: string | null;

  @CreateDateColumn({ type: 'timestamptz', default: () => 'now()' })
  created_at: Date;
}
