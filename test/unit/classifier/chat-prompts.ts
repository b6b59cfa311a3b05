/**
 * Hand-written chat prompts for a sanity check of the shipped classifier's ordering (chat-order.test.ts).
 * Not training data and not labelled by any model's outcome: written once, before the features they test,
 * to stand in for open-ended chat, which the dev data has none of. "Easy" is what a weak model usually
 * answers well (greetings, simple writing, roleplay, extraction, humanities); "hard" is what usually needs
 * the strong one (multi-step math and proofs, tricky code, logic puzzles, follow-ups that need reasoning).
 */
import type { ChatMessage } from '../../../core/classifier/text.js';

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];
const turns = (...contents: string[]): ChatMessage[] =>
  contents.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content }));

export const EASY_CHAT: readonly ChatMessage[][] = [
  user('Hi! How are you today?'),
  user('Write a short thank-you note to my neighbour for watering my plants while I was away.'),
  user('Pretend you are a pirate captain and greet your new crew.'),
  user(
    "Extract all the names of people mentioned in this text: 'Yesterday Maria met Tom and his sister Ana at the cafe near the station.'",
  ),
  user('Write a haiku about autumn leaves.'),
  user('Give me three catchy names for a bakery that specialises in sourdough.'),
  user("Rewrite this sentence to sound more polite: 'Send me the report now.'"),
  user('What is the capital of Australia?'),
  user('Summarise the plot of Romeo and Juliet in two sentences.'),
  user('Draft a friendly email inviting my team to a picnic on Friday.'),
  user("Translate 'Good morning, how are you?' into Spanish."),
  user('Tell me a fun fact about octopuses.'),
  user('You are a tour guide in Paris. Describe the Eiffel Tower to a group of tourists.'),
  user("List the main characters in Harry Potter and the Philosopher's Stone."),
  user('Write a tweet announcing the opening of our new coffee shop.'),
  turns(
    'Write a limerick about a cat.',
    'There once was a cat named Lou, who napped in a comfortable shoe...',
    'Make it a bit funnier.',
  ),
  user('Which of these are fruits: apple, carrot, banana, potato? Return them as a comma-separated list.'),
  user('Describe what a typical day looked like for a medieval farmer.'),
  user('Suggest a name for my golden retriever puppy.'),
  turns(
    'Can you recommend a good book for a beach holiday?',
    'Try "The Beach House" by Mary Alice Monroe: light, warm and easy to pick up between swims.',
    'Thanks! Anything similar but shorter?',
  ),
];

export const HARD_CHAT: readonly ChatMessage[][] = [
  user('Prove that there are infinitely many primes of the form 4k+3.'),
  user(
    "Write a Python function that finds the longest palindromic substring in O(n) time using Manacher's algorithm, and explain its complexity.",
  ),
  user(
    "Three boxes are labelled 'apples', 'oranges' and 'mixed', and every label is wrong. You may take one fruit from one box without looking. How do you relabel all the boxes correctly? Explain your reasoning.",
  ),
  user('Let f(x) = x^3 - 6x^2 + 11x - 6. Find all real roots and the intervals where f is increasing.'),
  user(
    'Implement a lock-free single-producer single-consumer ring buffer in C++ and explain the memory ordering you need.',
  ),
  user(
    'A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost? Show each step.',
  ),
  user(
    'Given an array of integers, return the number of subarrays whose sum is divisible by k. Write an efficient solution in Java and analyse its time complexity.',
  ),
  user('Evaluate the integral of x^2 * e^(-x) from 0 to infinity and justify each step.'),
  user(
    'If all bloops are razzies and some razzies are lazzies, can we conclude that some bloops are lazzies? Explain why or why not.',
  ),
  user(
    'Debug this code: it should return the k-th smallest element but fails on duplicates.\n```python\ndef kth(a, k):\n    return sorted(set(a))[k]\n```',
  ),
  user('What is the probability of getting at least two heads in five fair coin tosses? Derive the answer.'),
  user(
    'Write a SQL query that returns, for each department, the employee with the second highest salary, handling ties.',
  ),
  user('Prove by induction that the sum of the first n odd numbers is n^2.'),
  user(
    'A train leaves at 3:15 pm travelling at 80 km/h; a second train leaves the same station at 4:00 pm at 110 km/h on the same track. At what time does the second train catch up, and how far from the station?',
  ),
  turns(
    'Write a function to check whether a binary tree is a valid binary search tree.',
    'def is_bst(node, lo=None, hi=None):\n    if node is None:\n        return True\n    return is_bst(node.left, lo, node.val) and is_bst(node.right, node.val, hi)',
    'Your solution accepts duplicate values in the wrong subtree. Fix it and prove the new version is correct.',
  ),
  user('Design an algorithm to detect a cycle in a directed graph and explain why it runs in O(V + E).'),
  user('Solve the system of equations: 2x + 3y - z = 5, x - y + 2z = 3, 3x + y + z = 10.'),
  user(
    'Five people sit in a row. Alice is not at either end, Bob sits directly right of Carol, and Dan is two seats left of Eve. List every valid arrangement and explain how you found them.',
  ),
  turns(
    'A number leaves remainder 3 when divided by 7. What is the remainder when 5 times the number is divided by 7?',
    'The remainder is 1.',
    'Now what is the remainder when the square of the number is divided by 7? Justify it for every such number.',
  ),
  user(
    'Explain the time complexity of quicksort in the average and worst case, and derive the average-case recurrence.',
  ),
];

/**
 * A second, fresher set in the eight MT-Bench categories, written by hand for this check (not copied from
 * any benchmark) before the short-math change it was used to check, and labelled by category only: the
 * strong model's advantage in open chat is on math, reasoning, coding and hard STEM; writing, roleplay,
 * extraction and humanities need only the weak one. Several are two-turn, as MT-Bench is.
 */
export type ChatCategory =
  'writing' | 'roleplay' | 'extraction' | 'humanities' | 'math' | 'reasoning' | 'coding' | 'stem';
export const HARD_CATEGORIES: ReadonlySet<ChatCategory> = new Set(['math', 'reasoning', 'coding', 'stem']);

export const CATEGORY_CHAT: readonly { category: ChatCategory; messages: ChatMessage[] }[] = [
  {
    category: 'writing',
    messages: user(
      "Write a short welcome speech for the opening night of our community theatre's new season. Keep it under 200 words and thank the volunteers who rebuilt the stage.",
    ),
  },
  {
    category: 'writing',
    messages: user(
      'Compose a persuasive product description for a reusable water bottle that keeps drinks cold for a whole day, aimed at hikers.',
    ),
  },
  {
    category: 'writing',
    messages: turns(
      'Draft a cover letter for a junior graphic designer position at a small marketing agency.',
      'Dear Hiring Manager,\n\nI am excited to apply for the Junior Graphic Designer role at your agency. Over the past two years I have designed posters, social media campaigns and packaging for local businesses...',
      'Now shorten it to three sentences and make the tone more casual.',
    ),
  },
  {
    category: 'roleplay',
    messages: user(
      'Act as a grumpy medieval innkeeper. A tired traveller walks in asking for a room and a hot meal. Stay in character.',
    ),
  },
  {
    category: 'roleplay',
    messages: user(
      'Imagine you are a friendly robot guide in a science museum. Introduce yourself to a group of eight-year-olds visiting the dinosaur hall.',
    ),
  },
  {
    category: 'roleplay',
    messages: turns(
      'You are a sports commentator. Narrate the final minute of a tied basketball game.',
      'And here we go, folks, sixty seconds on the clock, the score is locked at 98 all! Johnson brings it up the floor...',
      'Now narrate the same moment in the hushed voice of a golf commentator.',
    ),
  },
  {
    category: 'extraction',
    messages: user(
      "From this review, list the product name, the rating out of five and the main complaint: 'I bought the AeroLite 3 kettle last month. It boils fast, but the lid sticks. Three stars.'",
    ),
  },
  {
    category: 'extraction',
    messages: user(
      "Pull out every date and the event it belongs to from this note and return them as JSON: 'The kickoff meeting is on 4 March, the design review on 18 March and the launch on 2 May.'",
    ),
  },
  {
    category: 'extraction',
    messages: user(
      "Name the countries and capital cities mentioned in this paragraph: 'Our tour starts in Lisbon, Portugal, continues to Madrid in Spain, and ends in Rome, Italy.'",
    ),
  },
  {
    category: 'humanities',
    messages: user(
      'What were the main causes of the French Revolution? Give a short overview for a high-school student.',
    ),
  },
  {
    category: 'humanities',
    messages: user('Describe how the printing press changed the spread of ideas in Europe.'),
  },
  {
    category: 'humanities',
    messages: turns(
      'Discuss the role of the Silk Road in cultural exchange between China and the Mediterranean world.',
      'The Silk Road carried far more than silk: religions such as Buddhism, technologies such as papermaking, and artistic styles moved along it for centuries...',
      'Which of those exchanges do you think had the longest-lasting influence, and why?',
    ),
  },
  { category: 'math', messages: user('If 3x + 7 = 2x - 5, what is the value of x squared?') },
  {
    category: 'math',
    messages: user('How many integers between 1 and 500 are divisible by 3 or 7 but not by both?'),
  },
  {
    category: 'math',
    messages: turns(
      'What is the sum of all positive divisors of 360?',
      'The sum of the divisors of 360 is 1170.',
      'How many of those divisors are perfect squares? List them.',
    ),
  },
  {
    category: 'reasoning',
    messages: user(
      'Maya is taller than Leo. Leo is taller than Sam but shorter than Priya. Priya is shorter than Maya. Who is the second tallest, and can we be certain?',
    ),
  },
  {
    category: 'reasoning',
    messages: user(
      "Four friends each ordered a different drink: tea, coffee, juice and water. Ana did not order anything hot, Ben ordered coffee, and Cleo's drink is not juice. Dev ordered neither tea nor juice. Who ordered what?",
    ),
  },
  {
    category: 'reasoning',
    messages: user(
      'Two candles of equal length are lit at the same time. One burns out in 4 hours, the other in 6. After how many hours is one candle exactly twice as long as the other?',
    ),
  },
  {
    category: 'coding',
    messages: user(
      'Write a Python function that merges overlapping intervals in a list and returns them sorted by start.',
    ),
  },
  { category: 'coding', messages: user('Implement an LRU cache in TypeScript with O(1) get and put.') },
  {
    category: 'coding',
    messages: turns(
      'Write a JavaScript function that flattens a nested array.',
      'function flatten(a) {\n  return a.reduce((acc, x) => acc.concat(Array.isArray(x) ? flatten(x) : x), []);\n}',
      'Rewrite it iteratively, without recursion, so it does not overflow the stack on deeply nested input.',
    ),
  },
  {
    category: 'stem',
    messages: user(
      'A 2 kg block slides down a frictionless 30 degree incline from a height of 5 m. What is its speed at the bottom, and how long does the slide take?',
    ),
  },
  {
    category: 'stem',
    messages: user(
      'Explain why the entropy of an isolated system never decreases, and derive the entropy change when an ideal gas doubles its volume at constant temperature.',
    ),
  },
  {
    category: 'stem',
    messages: user(
      'Balance the redox reaction between permanganate and iron(II) in acidic solution and say how many electrons are transferred.',
    ),
  },
];
