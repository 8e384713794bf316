/**
 * A Cruddur handle (without its `@`): what a user may be called, checked wherever one comes in
 * (a message's recipient, the profile route). Compared ignoring case (see UsersService).
 */
export const HANDLE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
