import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'cruddur:isPublic';

/** Opts a route out of the global Cognito guard. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
