/** OpenAPI descriptions of the HTTP layer's refusals (src/app.factory.ts), shared by the routes they apply to. */
export const PATH_PARAMETER_TOO_LONG = { status: 414, description: 'A path parameter over 100 characters' };
export const BODY_TOO_LARGE_RESPONSE = { status: 413, description: 'Body over 64 KB' };
export const UNSUPPORTED_BODY = {
  status: 415,
  description: 'A compressed body, a JSON body not in UTF-8, a form not in UTF-8 or ISO-8859-1, or a body neither JSON nor a form',
};
