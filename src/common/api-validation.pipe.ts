import { BadRequestException, ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';

/** Validation failures as codes (`limit_invalid`, …): each decorator's message is its code. */
export function validationCodes(errors: ValidationError[]): string[] {
  const codes = new Set<string>();
  const visit = (error: ValidationError) => {
    for (const code of Object.values(error.constraints ?? {})) codes.add(code);
    error.children?.forEach(visit);
  };
  errors.forEach(visit);
  return [...codes];
}

/**
 * The global pipe for query strings and path parameters: a bad value is a 400 listing every code.
 * (Request bodies are validated in their service, where a 422 can also name rules that depend on
 * the caller, such as `cannot_message_self`.)
 */
export class ApiValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) =>
        new BadRequestException({ error: 'Bad Request', message: 'Invalid request parameters', errors: validationCodes(errors) }),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    return metadata.type === 'body' ? value : super.transform(value, metadata);
  }
}
