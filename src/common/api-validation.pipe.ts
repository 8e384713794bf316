import {
  BadRequestException,
  UnprocessableEntityException,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError,
} from '@nestjs/common';

/** Validation failures as codes (`limit_invalid`, `message_blank`, …): each rule's message is its code. */
export function validationCodes(errors: ValidationError[]): string[] {
  const codes = new Set<string>();
  const visit = (error: ValidationError) => {
    for (const code of Object.values(error.constraints ?? {})) codes.add(code);
    error.children?.forEach(visit);
  };
  errors.forEach(visit);
  return [...codes];
}

/** A body DTO names what it describes in its refusals: `Invalid message: message_blank, …`. */
export interface DescribedDto {
  readonly describes?: string;
}

class InvalidInput extends Error {
  constructor(readonly codes: string[]) {
    super(codes.join(', '));
  }
}

/**
 * The global validation pipe: every DTO (body, query string, path parameter) is transformed and
 * validated by its decorators, unknown fields dropped, and a refusal lists every code at once. A bad
 * query value or path parameter is a 400; a body that is not a JSON object a 400 `body_invalid`;
 * invalid body fields a 422.
 */
export class ApiValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => new InvalidInput(validationCodes(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const body = metadata.type === 'body';
    if (body && value === undefined) value = {}; // no body at all: no fields (a route whose fields are all optional takes it)
    if (body && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      throw new BadRequestException({ error: 'Bad Request', message: 'The body must be a JSON object', errors: ['body_invalid'] });
    }
    try {
      return await super.transform(value, metadata);
    } catch (error) {
      if (!(error instanceof InvalidInput)) throw error;
      if (!body) throw invalidParameters(error.codes);
      throw unprocessable((metadata.metatype as DescribedDto | undefined)?.describes ?? 'request body', error.codes);
    }
  }
}

/** The 400 of invalid query values or path parameters, every code at once. */
export function invalidParameters(errors: string[]): BadRequestException {
  return new BadRequestException({ error: 'Bad Request', message: 'Invalid request parameters', errors });
}

/** The 422 of invalid body fields, every code at once. */
export function unprocessable(what: string, errors: string[]): UnprocessableEntityException {
  return new UnprocessableEntityException({ error: 'Unprocessable Entity', message: `Invalid ${what}: ${errors.join(', ')}`, errors });
}
