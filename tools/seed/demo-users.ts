/**
 * The two demo users that `npm run local`, `db:seed` and `ddb:seed` create (the original Cruddur's).
 * Their password only exists in the local Cognito emulator.
 */
export const DEMO_USERS = [
  { handle: 'andrewbrown', display_name: 'Andrew Brown', email: 'andrew@example.com' },
  { handle: 'bayko', display_name: 'Andrew Bayko', email: 'bayko@example.com' },
] as const;

export const DEMO_PASSWORD = 'Cruddur-local-1';
