import { defineProject } from 'vitest/config';
import { trainkitTestConfig } from '../../vitest.shared';

export default defineProject(trainkitTestConfig('unify'));
