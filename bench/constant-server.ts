import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { firstLine, serveRequests } from './processes.js';

/*
 * The framework ceiling: a Nest app on the same Fastify adapter with one route that returns a
 * constant, in a process of its own like the API. The constant is a page of 20 messages shaped
 * as the API returns it, so the ceiling includes serialising a body of the same size.
 */
export const CONSTANT_PAGE = Array.from({ length: 20 }, (_, i) => ({
  uuid: `6f1c0a52-8d3e-4f5b-9c2a-${String(i).padStart(12, '0')}`,
  display_name: 'Bench Alice',
  handle: 'benchalice',
  message: `Message number ${i} of the constant page, about as long as a typical short chat message.`,
  created_at: `2024-01-01T00:00:${String(i).padStart(2, '0')}.000000+00:00`,
}));

@Controller()
class ConstantController {
  @Get('api/constant')
  constant() {
    return CONSTANT_PAGE;
  }
}

@Module({ controllers: [ConstantController] })
class ConstantModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(ConstantModule, new FastifyAdapter(), { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  serveRequests(port, { memory: () => process.memoryUsage() }, () => app.close());
}

main().catch((error: unknown) => {
  console.error(`constant-server: ${firstLine(error)}`);
  process.exit(1);
});
