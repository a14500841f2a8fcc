// Paths and texts shared by the tests.
import { join } from 'node:path';

/** Where scripts/build-fixtures.mjs writes the fixture models. */
export const FIXTURES = join(__dirname, '..', 'fixtures', 'models');

/** The lesson's first example sentence. */
export const SENTENCE = "The animal didn't cross the street because it was too tired.";
